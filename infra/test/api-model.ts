// AWS API models as botocore ships them (PyPI, pinned in scripts/fetch-api-models.sh,
// installed into .cache/ by scripts/test.sh; never committed). The ground truth the
// infra tests check templates and our own rule tables against.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { isDeployTimeValue } from '../lib';

export interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  sensitive?: boolean;
}
export interface ServiceModel {
  metadata: { signingName?: string; endpointPrefix: string; serviceId: string };
  operations: Record<string, unknown>;
  shapes: Record<string, Shape>;
}

const infraDir = path.resolve(__dirname, '..', '..');

/** The botocore package directory: `$BOTOCORE_DIR`, else the newest `.cache/botocore-*`. */
export function botocoreDir(): string {
  if (process.env.BOTOCORE_DIR) return process.env.BOTOCORE_DIR;
  const cache = path.join(infraDir, '.cache');
  const found = fs.existsSync(cache) ? fs.readdirSync(cache).filter((name) => name.startsWith('botocore-')).sort() : [];
  if (found.length === 0) {
    throw new Error(`no botocore in ${cache}: run scripts/fetch-api-models.sh (scripts/test.sh does), or set BOTOCORE_DIR`);
  }
  return path.join(cache, found[found.length - 1], 'botocore');
}

/** The installed botocore's version, for provenance in test output. */
export function botocoreVersion(): string {
  const init = fs.readFileSync(path.join(botocoreDir(), '__init__.py'), 'utf8');
  return /__version__ = '([^']+)'/.exec(init)?.[1] ?? 'unknown';
}

/** `botocore/data/<service>/<api version>/service-2.json` (plain or gzipped, as botocore ships it). */
export function serviceModel(service: string): ServiceModel {
  const dir = path.join(botocoreDir(), 'data', service);
  const versions = fs.readdirSync(dir).sort();
  const base = path.join(dir, versions[versions.length - 1], 'service-2.json');
  if (fs.existsSync(base)) return JSON.parse(fs.readFileSync(base, 'utf8')) as ServiceModel;
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(`${base}.gz`)).toString('utf8')) as ServiceModel;
}

/** The shape at `path` (`a.b[].c`) below `root`, or why there is none. */
export function shapeAt(model: ServiceModel, root: string, fieldPath: string): { name: string; shape: Shape } {
  let name = root;
  for (const segment of fieldPath.split('.')) {
    const list = segment.endsWith('[]');
    const member = list ? segment.slice(0, -2) : segment;
    const shape = model.shapes[name];
    const next = shape.members?.[member]?.shape;
    if (!next) throw new Error(`${root}.${fieldPath}: ${name} has no member ${member}`);
    name = next;
    if (list) {
      const element = model.shapes[name].member?.shape;
      if (!element) throw new Error(`${root}.${fieldPath}: ${name} is not a list`);
      name = element;
    }
  }
  return { name, shape: model.shapes[name] };
}

export interface ModelCheck {
  /** `path (shape): why`, for every literal the model refuses or every field it does not know. */
  problems: string[];
  checked: number;
  deployTime: number;
}

/**
 * Walks a resource's CloudFormation properties through the API model from
 * `root` (e.g. `CreateConnectionRequest`), checking every literal string
 * against its shape's length bounds, pattern (Smithy semantics: not anchored
 * unless the pattern is) and enum. Deploy-time values are counted, not checked.
 */
export function checkAgainstModel(model: ServiceModel, root: string, properties: unknown): ModelCheck {
  const result: ModelCheck = { problems: [], checked: 0, deployTime: 0 };
  const visit = (value: unknown, shapeName: string, at: string) => {
    const shape = model.shapes[shapeName];
    if (isDeployTimeValue(value)) {
      result.deployTime += 1;
      return;
    }
    switch (shape.type) {
      case 'structure': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          result.problems.push(`${at} (${shapeName}): expected an object`);
          return;
        }
        for (const [key, child] of Object.entries(value)) {
          const member = shape.members?.[key];
          if (!member) result.problems.push(`${at}.${key}: not a member of ${shapeName} in the API model`);
          else visit(child, member.shape, at ? `${at}.${key}` : key);
        }
        return;
      }
      case 'list': {
        if (!Array.isArray(value)) {
          result.problems.push(`${at} (${shapeName}): expected a list`);
          return;
        }
        if (shape.min !== undefined && value.length < shape.min) result.problems.push(`${at} (${shapeName}): fewer than ${shape.min} items`);
        if (shape.max !== undefined && value.length > shape.max) result.problems.push(`${at} (${shapeName}): more than ${shape.max} items`);
        value.forEach((item, index) => visit(item, shape.member!.shape, `${at}[${index}]`));
        return;
      }
      case 'string': {
        if (typeof value !== 'string') {
          result.problems.push(`${at} (${shapeName}): expected a string`);
          return;
        }
        result.checked += 1;
        const length = [...value].length;
        const why: string[] = [];
        if (shape.min !== undefined && length < shape.min) why.push(`shorter than ${shape.min}`);
        if (shape.max !== undefined && length > shape.max) why.push(`longer than ${shape.max}`);
        if (shape.pattern !== undefined && !new RegExp(shape.pattern).test(value)) why.push(`does not match ${shape.pattern}`);
        if (shape.enum && !shape.enum.includes(value)) why.push(`not one of ${shape.enum.join(', ')}`);
        if (why.length > 0) result.problems.push(`${at} (${shapeName}) ${shape.sensitive ? '(value not shown)' : JSON.stringify(value)}: ${why.join('; ')}`);
        return;
      }
      case 'boolean':
        if (typeof value !== 'boolean') result.problems.push(`${at} (${shapeName}): expected a boolean`);
        return;
      default:
        result.problems.push(`${at} (${shapeName}): unhandled model type ${shape.type}`);
    }
  };
  visit(properties, root, '');
  return result;
}
