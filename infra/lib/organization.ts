// One notifier for an AWS Organization: a hub (bus, rule, notifier) in a
// central account, and a spoke in each account and region whose state machines
// it reports (a rule forwarding their status changes to the hub bus, and the
// role the hub notifier assumes to read their history and tags).
import { ArnFormat, Aws, Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  EXECUTION_STATUS_EVENT,
  FailureTicketBridge,
  FailureTicketBridgeProps,
  WATCHED_EXECUTION_ACTIONS,
  WATCHED_MACHINE_ACTIONS,
  WATCHED_STATUSES,
  WatchedStatus,
  executionStatusDetail,
} from './failure-ticket-bridge';
import { acknowledge, acknowledgeWildcardResource } from './nag';

/** The name of the role the hub notifier assumes in each spoke account, by default. */
export const DEFAULT_HISTORY_ROLE_NAME = 'TicketBridgeHistoryReader';

/** An AWS Organizations organization id: `o-` and 10 to 32 lowercase letters or digits. */
export const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;
/** An IAM role name (IAM's `roleNameType`): 1 to 64 of letters, digits and `+=,.@_-`. */
const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
/** A state machine name prefix: what a name may hold (no wildcards, which IAM and EventBridge would read). */
const MACHINE_PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
const ACCOUNT_ID_PATTERN = /^\d{12}$/;

function check(construct: string, prop: string, value: string | undefined, pattern: RegExp, what: string): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!pattern.test(value)) throw new Error(`${construct}: \`${prop}\` must be ${what}, got ${JSON.stringify(value)}`);
}

function checkOrganizationId(construct: string, value: string): void {
  if (value === undefined || value === null) throw new Error(`${construct}: \`organizationId\` is required (the o-... id of your AWS Organization)`);
  check(construct, 'organizationId', value, ORGANIZATION_ID_PATTERN, 'an organization id, "o-" followed by 10 to 32 lowercase letters or digits');
}

function checkHistoryRoleName(construct: string, value: string): void {
  check(construct, 'historyRoleName', value, ROLE_NAME_PATTERN, 'an IAM role name: 1 to 64 letters, digits or +=,.@_-');
}

/** Props of {@link FailureTicketHub}: those of {@link FailureTicketBridge} and the organization's. */
export interface FailureTicketHubProps extends FailureTicketBridgeProps {
  /** The organization whose accounts may send events to the hub bus and invoke the notifier, e.g. `o-a1b2c3d4e5`. */
  readonly organizationId: string;

  /**
   * The role the notifier assumes in a spoke account to read an execution's
   * history and its machine's tags (`HISTORY_ROLE_NAME`); what
   * {@link FailureTicketSpoke} creates.
   * @default DEFAULT_HISTORY_ROLE_NAME, 'TicketBridgeHistoryReader'
   */
  readonly historyRoleName?: string;

  /**
   * Names of the organization's accounts, by 12-digit account id
   * (`ACCOUNT_NAMES`): the name follows the machine in the ticket's Subject.
   * @default none: tickets show the account id only
   */
  readonly accountNames?: Record<string, string>;

  /**
   * The name of the hub bus.
   * @default a name CloudFormation generates
   */
  readonly eventBusName?: string;

  /**
   * A fixed name for the notifier's role, so its ARN (the spokes'
   * `hubNotifierRoleArn`) is known before the hub is deployed. Needs
   * `CAPABILITY_NAMED_IAM`.
   * @default a name CloudFormation generates (read `notifierRole.roleArn`)
   */
  readonly notifierRoleName?: string;

  /** Statuses the hub rule reports. @default WATCHED_STATUSES: FAILED, TIMED_OUT and ABORTED */
  readonly statuses?: readonly WatchedStatus[];

  /**
   * Also send SUCCEEDED executions and turn on recovery notes (see
   * `WatchOptions.recoveryNotes`): every successful execution in the
   * organization's spokes then invokes the notifier. Needs incidents.
   * @default false
   */
  readonly recoveryNotes?: boolean;

  /**
   * Close a case after this many SUCCEEDED executions of its machine in a
   * row, reopening it on a failure within `reopenWindow` (see
   * `WatchOptions.resolveAfterSuccesses`). Also sends SUCCEEDED executions:
   * the spokes must forward them (their `statuses`). Needs incidents.
   * @default 0: cases are never closed by the bridge
   */
  readonly resolveAfterSuccesses?: number;

  /** See `WatchOptions.reopenWindow`. @default 24 hours */
  readonly reopenWindow?: Duration;
}

/**
 * The central half of an organization-wide ticket bridge: a
 * {@link FailureTicketBridge} (notifier, table, alarms), an event bus that the
 * organization's accounts may put events on, a rule on it sending their
 * failed executions to the notifier, the right to assume
 * {@link FailureTicketSpoke}'s reader role in the organization's accounts, and
 * a Lambda permission letting the organization's state machines call the
 * notifier from their Catch paths. Deploy it once, in a central account;
 * infra/README.md ("One hub for an organization") has the guide.
 */
export class FailureTicketHub extends Construct {
  /** The bridge inside the hub: the notifier and everything around it. */
  readonly bridge: FailureTicketBridge;
  /** The notifier Lambda (`bridge.notifier`). */
  readonly notifier: lambda.Function;
  /** The bus the spokes forward their status changes to. */
  readonly bus: events.EventBus;
  /** The rule on {@link bus} that invokes the notifier. */
  readonly rule: events.Rule;
  /** The notifier's role: what the spokes' reader roles trust (`hubNotifierRoleArn`). */
  readonly notifierRole: iam.IRole;
  /** The name of the reader role assumed in the spokes. */
  readonly historyRoleName: string;

  constructor(scope: Construct, id: string, props: FailureTicketHubProps) {
    super(scope, id);
    const name = 'FailureTicketHub';
    checkOrganizationId(name, props.organizationId);
    this.historyRoleName = props.historyRoleName ?? DEFAULT_HISTORY_ROLE_NAME;
    checkHistoryRoleName(name, this.historyRoleName);
    check(name, 'notifierRoleName', props.notifierRoleName, ROLE_NAME_PATTERN, 'an IAM role name: 1 to 64 letters, digits or +=,.@_-');
    check(name, 'eventBusName', props.eventBusName, /^[A-Za-z0-9._-]{1,256}$/, 'an event bus name: 1 to 256 letters, digits or ._-');
    for (const [account, accountName] of Object.entries(props.accountNames ?? {})) {
      if (!ACCOUNT_ID_PATTERN.test(account)) throw new Error(`${name}: \`accountNames\` keys must be 12-digit account ids, got ${JSON.stringify(account)}`);
      if (typeof accountName !== 'string' || accountName.trim() === '' || [...accountName].some((c) => c.charCodeAt(0) < 0x20)) {
        throw new Error(`${name}: \`accountNames\` value of ${account} must be one non-empty line, got ${JSON.stringify(accountName)}`);
      }
    }
    for (const variable of ['HISTORY_ROLE_NAME', 'ACCOUNT_NAMES']) {
      if (props.environment && variable in props.environment) {
        throw new Error(`${name}: set \`${variable === 'HISTORY_ROLE_NAME' ? 'historyRoleName' : 'accountNames'}\` instead of \`environment.${variable}\`: the grants follow it`);
      }
    }
    const { organizationId } = props;

    this.bridge = new FailureTicketBridge(this, 'Bridge', props);
    this.notifier = this.bridge.notifier;
    this.notifierRole = this.notifier.role!;
    if (props.notifierRoleName !== undefined) {
      (this.notifierRole.node.defaultChild as iam.CfnRole).roleName = props.notifierRoleName;
    }
    this.notifier.addEnvironment('HISTORY_ROLE_NAME', this.historyRoleName);
    if (props.accountNames && Object.keys(props.accountNames).length > 0) {
      this.notifier.addEnvironment('ACCOUNT_NAMES', JSON.stringify(props.accountNames));
    }

    // The organization's accounts, and no one else, may put events on the bus.
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: props.eventBusName, description: 'Step Functions status changes of the organization, for the failure ticket notifier' });
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OrganizationPutEvents',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
      }),
    );

    if (props.recoveryNotes) this.bridge.enableRecoveryNotes(name);
    this.bridge.enableAutoResolve(props.resolveAfterSuccesses ?? 0, props.reopenWindow, name);
    const successes = props.recoveryNotes || (props.resolveAfterSuccesses ?? 0) > 0;
    const statuses = [...(props.statuses ?? WATCHED_STATUSES), ...(successes ? ['SUCCEEDED'] : [])];
    this.rule = new events.Rule(this, 'StatusChanges', {
      eventBus: this.bus,
      description: 'Files a ticket when a state machine of the organization fails without a caught ticket',
      eventPattern: {
        source: [...EXECUTION_STATUS_EVENT.source],
        detailType: [...EXECUTION_STATUS_EVENT.detailType],
        detail: executionStatusDetail(statuses),
      },
    });
    this.rule.addTarget(this.bridge.notifierTarget());

    // The reader role of any account of the organization, and of none outside it.
    const readerRoles = `arn:${Aws.PARTITION}:iam::*:role/${this.historyRoleName}`;
    this.notifier.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: [readerRoles],
        conditions: { StringEquals: { 'aws:ResourceOrgID': organizationId } },
      }),
    );
    acknowledgeWildcardResource(
      this.notifierRole,
      readerRoles,
      `The notifier reads each execution's history in its own account by assuming the role named ${this.historyRoleName} there; ` +
        'the account is the one wildcard, and aws:ResourceOrgID limits it to accounts of the organization.',
    );

    // Spoke state machines' Catch paths call the notifier directly, by ARN.
    this.notifier.addPermission('OrganizationInvoke', {
      principal: new iam.AnyPrincipal(),
      organizationId,
      action: 'lambda:InvokeFunction',
    });
  }
}

/** Props of {@link FailureTicketSpoke}. */
export interface FailureTicketSpokeProps {
  /** ARN of the hub bus (`FailureTicketHub.bus.eventBusArn`). */
  readonly hubBusArn: string;

  /** ARN of the hub notifier's role (`FailureTicketHub.notifierRole.roleArn`), which the reader role trusts. */
  readonly hubNotifierRoleArn: string;

  /** The organization of the hub and of this account, e.g. `o-a1b2c3d4e5`. */
  readonly organizationId: string;

  /**
   * The name of the reader role; the hub's `historyRoleName`.
   * @default DEFAULT_HISTORY_ROLE_NAME, 'TicketBridgeHistoryReader'
   */
  readonly historyRoleName?: string;

  /**
   * Only machines whose name starts with this are forwarded and readable.
   * @default every state machine of the account and region
   */
  readonly stateMachineNamePrefix?: string;

  /** Statuses forwarded to the hub. @default WATCHED_STATUSES; add SUCCEEDED when the hub has `recoveryNotes` or `resolveAfterSuccesses` */
  readonly statuses?: readonly (WatchedStatus | 'SUCCEEDED')[];

  /**
   * Create the reader role. IAM roles belong to the account, not the region:
   * in a second region of the same account, pass `false` and list every region
   * in `historyRegions` where the role is created.
   * @default true
   */
  readonly createHistoryRole?: boolean;

  /**
   * Regions whose executions the reader role may read.
   * @default the stack's region
   */
  readonly historyRegions?: string[];
}

/**
 * The per-account half of an organization-wide ticket bridge, deployable in
 * every account and region (e.g. through a StackSet): a rule on the default
 * bus forwarding Step Functions status changes to the hub bus through a role
 * that may put events on that bus only, and the reader role the hub notifier
 * assumes to read executions' history and their machines' tags.
 */
export class FailureTicketSpoke extends Construct {
  /** The rule on the default bus. */
  readonly rule: events.Rule;
  /** The role EventBridge uses to put events on the hub bus. */
  readonly forwardRole: iam.Role;
  /** Events the rule could not deliver to the hub bus. */
  readonly deadLetterQueue: sqs.Queue;
  /** The role the hub notifier assumes; `undefined` with `createHistoryRole: false`. */
  readonly historyRole?: iam.Role;

  constructor(scope: Construct, id: string, props: FailureTicketSpokeProps) {
    super(scope, id);
    const name = 'FailureTicketSpoke';
    checkOrganizationId(name, props.organizationId);
    if (!props.hubBusArn) throw new Error(`${name}: \`hubBusArn\` is required (FailureTicketHub.bus.eventBusArn)`);
    if (!props.hubNotifierRoleArn) throw new Error(`${name}: \`hubNotifierRoleArn\` is required (FailureTicketHub.notifierRole.roleArn)`);
    check(name, 'hubBusArn', props.hubBusArn, /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/, 'an event bus ARN, arn:<partition>:events:<region>:<account>:event-bus/<name>');
    check(name, 'hubNotifierRoleArn', props.hubNotifierRoleArn, /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\-/]{1,512}$/, 'an IAM role ARN, arn:<partition>:iam::<account>:role/<name>');
    const historyRoleName = props.historyRoleName ?? DEFAULT_HISTORY_ROLE_NAME;
    checkHistoryRoleName(name, historyRoleName);
    const prefix = props.stateMachineNamePrefix;
    check(name, 'stateMachineNamePrefix', prefix, MACHINE_PREFIX_PATTERN, 'the start of a state machine name: 1 to 80 letters, digits, _ or -');
    const statuses = props.statuses ?? WATCHED_STATUSES;
    for (const status of statuses) {
      if (![...WATCHED_STATUSES, 'SUCCEEDED'].includes(status)) throw new Error(`${name}: \`statuses\` may hold ${[...WATCHED_STATUSES, 'SUCCEEDED'].join(', ')}, got ${status}`);
    }
    for (const region of props.historyRegions ?? []) check(name, 'historyRegions', region, /^[a-z]{2}(-[a-z]+)+-\d$/, 'a list of region names such as eu-west-1');

    const stack = Stack.of(this);
    const machines = (region: string, suffix = '*') =>
      stack.formatArn({ service: 'states', region, resource: 'stateMachine', resourceName: `${prefix ?? ''}${suffix}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executions = (region: string) =>
      stack.formatArn({ service: 'states', region, resource: 'execution', resourceName: `${prefix ?? ''}*:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

    const hubBus = events.EventBus.fromEventBusArn(this, 'HubBus', props.hubBusArn);
    this.forwardRole = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com'),
      description: 'Lets EventBridge forward Step Functions status changes to the failure ticket hub bus',
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the rule forwarding status changes to the hub bus; nothing consumes it automatically, so a queue behind it would never be used.',
    );
    this.rule = new events.Rule(this, 'ForwardToHub', {
      description: 'Forwards Step Functions failures of this account and region to the failure ticket hub',
      eventPattern: {
        source: [...EXECUTION_STATUS_EVENT.source],
        detailType: [...EXECUTION_STATUS_EVENT.detailType],
        detail: executionStatusDetail(statuses, prefix ? [{ prefix: machines(stack.region, '') }] : undefined),
      },
    });
    // The target adds events:PutEvents on the hub bus, and nothing else, to the role.
    this.rule.addTarget(new targets.EventBus(hubBus, { role: this.forwardRole, deadLetterQueue: this.deadLetterQueue }));

    if (props.createHistoryRole === false) return;
    const regions = props.historyRegions && props.historyRegions.length > 0 ? props.historyRegions : [stack.region];
    const executionArns = regions.map(executions);
    const machineArns = regions.map((region) => machines(region));
    this.historyRole = new iam.Role(this, 'HistoryRole', {
      roleName: historyRoleName,
      description: 'Assumed by the failure ticket hub notifier to read Step Functions execution history and state machine tags',
      assumedBy: new iam.ArnPrincipal(props.hubNotifierRoleArn).withConditions({ StringEquals: { 'aws:PrincipalOrgID': props.organizationId } }),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: {
        ReadHistory: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: [...WATCHED_EXECUTION_ACTIONS], resources: executionArns }),
            new iam.PolicyStatement({ actions: [...WATCHED_MACHINE_ACTIONS], resources: machineArns }),
          ],
        }),
      },
    });
    const which = prefix ? `whose name starts with "${prefix}"` : 'of this account';
    for (const arn of executionArns) {
      acknowledgeWildcardResource(this.historyRole, arn, `Execution ARNs are made per execution; this is every execution of the state machines ${which}, whose history the hub notifier reads to name the failed state.`);
    }
    for (const arn of machineArns) {
      acknowledgeWildcardResource(this.historyRole, arn, `The hub notifier reads the tags of the failed machine (ticket routing); this is the state machines ${which}, which the spoke forwards failures of.`);
    }
  }
}
