// Where the notifier's code comes from: the prebuilt zips this package ships
// (the default, so `cdk synth` needs no Rust toolchain), any lambda.Code the
// user passes, or a build from source with cargo-lambda-cdk. Also reads the
// ELF header of a `bootstrap` to catch code built for the other architecture
// at synth time instead of as Runtime.InvalidEntrypoint on the first failure.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** This package's name in package.json: how {@link packageRoot} knows it found it. */
export const PACKAGE_NAME = 'step-functions-ticket-bridge';

/**
 * Context key: a folder to take the prebuilt notifier zips and `SHA256SUMS` from
 * instead of the package's own `assets/` (e.g. a mirror of a release you
 * verified yourself). Absolute, or relative to the directory `cdk synth` runs in.
 */
export const NOTIFIER_ASSETS_CONTEXT = 'step-functions-ticket-bridge:notifierAssets';

/** File name of the prebuilt notifier for an architecture, in the assets folder. */
export function prebuiltNotifierFileName(architecture: lambda.Architecture): string {
  return `notifier-${architecture.name}.zip`;
}

/** The file in the assets folder that lists each zip's SHA-256 (`sha256sum` format). */
export const SUMS_FILE = 'SHA256SUMS';

/**
 * The root of this package: the nearest folder above this file whose
 * package.json is this package's. The same from `dist/lib` (compiled), from
 * `lib` (ts-node) and from `node_modules/step-functions-ticket-bridge/dist/lib`.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // Not ours if it does not parse; keep walking up.
      }
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`${PACKAGE_NAME}: no package.json named "${PACKAGE_NAME}" above ${from}`);
    }
  }
}

/** The folder the prebuilt zips are read from: the context override, else `<package root>/assets`. */
export function notifierAssetsDir(scope: Construct): string {
  const override: unknown = scope.node.tryGetContext(NOTIFIER_ASSETS_CONTEXT);
  if (override === undefined || override === null || override === '') return path.join(packageRoot(), 'assets');
  if (typeof override !== 'string') throw new Error(`context ${NOTIFIER_ASSETS_CONTEXT} must be a folder path, got ${JSON.stringify(override)}`);
  return path.resolve(override);
}

/** `SHA256SUMS` → file name → lower-case hex digest. */
export function readSums(file: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    // sha256sum writes "<hex>  <name>" (text mode) or "<hex> *<name>" (binary mode).
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trimEnd());
    if (!m) throw new Error(`${file}: not a sha256sum line: ${JSON.stringify(line)}`);
    sums.set(m[2], m[1].toLowerCase());
  }
  return sums;
}

const digests = new Map<string, { key: string; sha256: string }>();

/** SHA-256 of a file, cached per process while its size and mtime stay the same. */
export function sha256Of(file: string): string {
  const stat = fs.statSync(file);
  const key = `${stat.size}:${stat.mtimeMs}`;
  const cached = digests.get(file);
  if (cached?.key === key) return cached.sha256;
  const sha256 = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  digests.set(file, { key, sha256 });
  return sha256;
}

/**
 * The prebuilt notifier for `architecture` as Lambda code: the zip this
 * package ships (`assets/notifier-<arch>.zip`, a `bootstrap` at its root,
 * built by `make dist` with the release profile), after checking it against
 * `assets/SHA256SUMS`. Its asset hash is that SHA-256, so the asset's S3 key
 * names the exact zip. Needs no Rust toolchain, Docker or network.
 */
export function prebuiltNotifierCode(scope: Construct, architecture: lambda.Architecture): lambda.Code {
  const dir = notifierAssetsDir(scope);
  const name = prebuiltNotifierFileName(architecture);
  const zip = path.join(dir, name);
  const sumsFile = path.join(dir, SUMS_FILE);
  if (!fs.existsSync(zip)) {
    throw new Error(
      `FailureTicketBridge: no prebuilt notifier for ${architecture.name} at ${zip}. ` +
        'A published package carries both architectures; in a clone of the repository run `make dist` first. ' +
        'Or pass `code` (any lambda.Code holding a bootstrap) or `fromSource` (build with cargo-lambda-cdk).',
    );
  }
  if (!fs.existsSync(sumsFile)) throw new Error(`FailureTicketBridge: ${zip} has no ${SUMS_FILE} next to it to check it against`);
  const expected = readSums(sumsFile).get(name);
  if (!expected) throw new Error(`FailureTicketBridge: ${sumsFile} lists no SHA-256 for ${name}`);
  const actual = sha256Of(zip);
  if (actual !== expected) {
    throw new Error(`FailureTicketBridge: ${zip} has SHA-256 ${actual}, but ${sumsFile} says ${expected}: the file was changed or damaged`);
  }
  const code = lambda.Code.fromAsset(zip, { assetHash: expected });
  checkBootstrap(code, architecture, 'the prebuilt notifier');
  return code;
}

/** What the bootstrap inside some Lambda code was built for, when it can be read at synth time. */
export interface BootstrapInfo {
  /** Where it was read: the zip or folder. */
  readonly where: string;
  /** Whether a file named `bootstrap` is at the root of the zip or folder. */
  readonly found: boolean;
  /** `arm64` or `x86_64` from the ELF header; undefined when it is no ELF of either (a script, say). */
  readonly architecture?: string;
}

const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/** Architecture from the first bytes of an ELF file (undefined for anything else). */
export function elfArchitecture(head: Buffer): string | undefined {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  if (machine === EM_AARCH64) return lambda.Architecture.ARM_64.name;
  if (machine === EM_X86_64) return lambda.Architecture.X86_64.name;
  return undefined;
}

/**
 * Reads the `bootstrap` of an asset (a `.zip` file, or a folder that holds
 * one); undefined for code that cannot be inspected before deployment (S3,
 * ECR, inline, or a folder still to be bundled).
 */
export function inspectBootstrap(code: lambda.Code): BootstrapInfo | undefined {
  if (!(code instanceof lambda.AssetCode)) return undefined;
  const where = code.path;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(where);
  } catch {
    return undefined; // CDK reports a missing asset itself, naming the path.
  }
  if (stat.isDirectory()) {
    const file = path.join(where, 'bootstrap');
    // A folder without a bootstrap may still be bundled (cargo-lambda-cdk's are): nothing to say yet.
    if (!fs.existsSync(file)) return undefined;
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(64);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      return { where, found: true, architecture: elfArchitecture(head.subarray(0, n)) };
    } finally {
      fs.closeSync(fd);
    }
  }
  if (!where.toLowerCase().endsWith('.zip')) return undefined;
  const entry = zipEntryHead(fs.readFileSync(where), 'bootstrap');
  if (entry === 'unreadable') return undefined;
  return entry === undefined ? { where, found: false } : { where, found: true, architecture: elfArchitecture(entry) };
}

/**
 * The first bytes of the entry `name` of a zip file: undefined when there is
 * no such entry, 'unreadable' for what this small reader does not handle
 * (zip64, encryption, methods other than stored and deflate).
 */
export function zipEntryHead(zip: Buffer, name: string, bytes = 64): Buffer | undefined | 'unreadable' {
  // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the end.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return 'unreadable';
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  if (at === 0xffffffff || entries === 0xffff) return 'unreadable';
  for (let i = 0; i < entries; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) return 'unreadable';
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (flags & 0x1 || localHeader === 0xffffffff || zip.readUInt32LE(localHeader) !== 0x04034b50) return 'unreadable';
    const start = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(start, start + compressedSize);
    if (method === 0) return data.subarray(0, bytes);
    if (method !== 8) return 'unreadable';
    try {
      // The beginning of the stream inflates on its own; no need to inflate megabytes for 64 bytes.
      return zlib.inflateRawSync(data.subarray(0, Math.min(data.length, 64 * 1024)), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, bytes);
    } catch {
      return 'unreadable';
    }
  }
  return undefined;
}

/**
 * Fails synthesis when `code` visibly cannot run as the notifier on
 * `architecture`: a zip or folder without `bootstrap` at its root, or a
 * bootstrap built for the other architecture. `what` names the prop.
 */
export function checkBootstrap(code: lambda.Code, architecture: lambda.Architecture, what: string): void {
  const info = inspectBootstrap(code);
  if (!info) return;
  if (!info.found) {
    throw new Error(
      `FailureTicketBridge: ${what} (${info.where}) has no file named bootstrap at its root; ` +
        'the provided.al2023 runtime starts that file (cargo lambda build writes it)',
    );
  }
  if (info.architecture !== undefined && info.architecture !== architecture.name) {
    throw new Error(
      `FailureTicketBridge: ${what} (${info.where}) holds a bootstrap built for ${info.architecture}, but \`architecture\` is ${architecture.name}; ` +
        `pass \`architecture: lambda.Architecture.${info.architecture === 'arm64' ? 'ARM_64' : 'X86_64'}\` or code built for ${architecture.name}`,
    );
  }
}

/**
 * Building the notifier from source at synth time (`fromSource`): cargo-lambda-cdk's
 * `RustFunction` runs `cargo lambda build --release --bin notifier` for the
 * function's architecture (or its Docker image when cargo-lambda is missing).
 */
export interface NotifierSource {
  /** Path of the Cargo workspace manifest (`Cargo.toml`) that builds the `notifier` binary, e.g. a clone of this repository. */
  readonly manifestPath: string;

  /**
   * Cargo profile to build with.
   * @default 'release' (cargo-lambda-cdk's default; the deployed profile of this repository)
   */
  readonly profile?: string;

  /**
   * Extra flags for `cargo lambda build`.
   * @default none
   */
  readonly cargoLambdaFlags?: string[];
}
