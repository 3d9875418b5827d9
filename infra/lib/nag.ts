// cdk-nag acknowledgments, for cdk-nag 3.
//
// Why cdk-nag 3 and not 2 (the two majors do not read each other's suppressions):
// - 3 is npm's `latest` and the maintained line: 2.x had its last release
//   (2.38.2) in May 2026, new rules land in 3.x only;
// - 3 reads aws-cdk-lib's own acknowledgments, `Validations.of(c).acknowledge()`,
//   so this package writes them with aws-cdk-lib alone: no runtime dependency on
//   cdk-nag (2's `NagSuppressions` would force a cdk-nag version on every user)
//   and no hand-written copy of 2's `cdk_nag` template metadata;
// - 3 looks for acknowledgments on a resource and on every construct above it
//   when it validates, so one acknowledgment covers resources created later
//   (the role's default policy, a policy `watch()` adds), where 2 reads only
//   the metadata of each CloudFormation resource, written at the time.
// It also sets the peer floor, aws-cdk-lib 2.269: the first whose acknowledge()
// reads `::` inside brackets as part of the rule id (earlier ones throw on an
// IAM5 finding such as `[Resource::arn:<AWS::Partition>:...]`); the test suite
// passes on 2.269.0.
// The price: 3 matches findings by exact id (no regular expressions), so for a
// wildcard resource the id is computed here the way cdk-nag prints it
// (`wildcardFinding`). Users of cdk-nag 2 find the same reasons in
// infra/README.md ("cdk-nag") to copy into `NagSuppressions`.
import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The name cdk-nag's AwsSolutionsChecks reports under, which CDK uses as its namespace. */
const NAG_PLUGIN_NAMESPACE = 'AwsSolutions';

/**
 * One acknowledged cdk-nag finding, with the reason a reviewer reads. Written
 * twice: as the bare id, which cdk-nag 3 itself honours (its README's form),
 * and namespaced by the plugin (`AwsSolutions::<id>`), the form CDK's own
 * validation report asks for and suppresses in newer aws-cdk-lib, where the
 * reason is also listed in validation-report.json. Either one suffices.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  const done = acknowledged.get(scope) ?? new Set<string>();
  if (done.has(id)) return; // e.g. one catch chain per failed state, one finding
  done.add(id);
  acknowledged.set(scope, done);
  try {
    Validations.of(scope).acknowledge({ id, reason }, { id: `${NAG_PLUGIN_NAMESPACE}::${id}`, reason });
  } catch (error) {
    // Before 2.269, acknowledge() split ids at every "::", and an IAM5 finding
    // on an ARN (`[Resource::arn:<AWS::Partition>:...]`) has several: it threw.
    throw new Error(
      `step-functions-ticket-bridge needs aws-cdk-lib 2.269 or newer (its peer dependency): this one cannot acknowledge the cdk-nag finding ${id} (${(error as Error).message})`,
      { cause: error },
    );
  }
}
const acknowledged = new WeakMap<IConstruct, Set<string>>();

/**
 * A CloudFormation value as cdk-nag prints it in a finding id (cdk-nag's
 * `flattenCfnReference`, the same in 2.x and 3.x): `Fn::Join` joined,
 * `Ref` as `<Name>`, `Fn::GetAtt` as `<LogicalId.Attribute>`, `${x}` as `<x>`.
 */
export function flattenCfnReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value && typeof value === 'object') {
    const node = value as Record<string, any>;
    if (node['Fn::Join']) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenCfnReference).join(delimiter);
    }
    if (node['Fn::Sub']) return flattenCfnReference(node['Fn::Sub']);
    if (node['Fn::GetAtt']) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
    }
    if (node['Fn::ImportValue']) return flattenCfnReference(node['Fn::ImportValue']);
    if (node.Ref) return `<${flattenCfnReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

/**
 * The id of cdk-nag's `AwsSolutions-IAM5` finding for an IAM statement
 * resource (an ARN, possibly a token) as it will be synthesized in `scope`'s
 * stack; undefined when it holds no wildcard (no finding).
 */
export function wildcardFinding(scope: IConstruct, arn: string): string | undefined {
  const flat = flattenCfnReference(Stack.of(scope).resolve(arn));
  return flat.includes('*') ? `AwsSolutions-IAM5[Resource::${flat}]` : undefined;
}

/** Acknowledges the IAM5 finding of a wildcard resource, if it has one. */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  const id = wildcardFinding(scope, arn);
  if (id) acknowledge(scope, id, reason);
}
