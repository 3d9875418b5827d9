import { Arn, ArnFormat, Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { RustFunctionProps } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { connectionKeyArn, connectionSecretDecryptStatement } from './connection-key';
import { cfnConnectionOf, validateConnectionParameters } from './connection-parameters';
import {
  BRIDGE_ALARMS,
  BridgeAlarmName,
  BridgeAlarms,
  DEFAULT_METRICS_NAMESPACE,
  DashboardOptions,
  DashboardWidget,
  NotifierCountMetric,
  ResolvedAlarm,
  countMetric,
  resolveAlarms,
  resolveDashboard,
  validateMetricsNamespace,
  valueMetricByOutcome,
} from './monitoring';
import { acknowledge, acknowledgeWildcardResource } from './nag';
import { NotifierSource, checkBootstrap, prebuiltNotifierCode } from './notifier-code';
import { OutsetaConnection, OutsetaCredentials } from './outseta-connection';

/** Who the ticket is filed as in Outseta: an existing person, by Uid or by email. */
export type FromPerson = { readonly uid: string } | { readonly email: string };

/**
 * Start of the `Cause` that the catch chain's Fail state sets once a ticket was filed.
 *
 * A caught failure still fails the execution, which emits the same
 * "Execution Status Change" event that {@link FailureTicketBridge.watch} listens
 * for. The watch rule skips events whose cause starts with this text, so one
 * failure gives one ticket, while failures the catch chain could not report
 * (notifier down, or no Catch at all) still reach the notifier.
 */
export const TICKET_FILED_CAUSE_PREFIX = 'Failure ticket filed by FailureTicketBridge';

/** Execution statuses that {@link FailureTicketBridge.watch} turns into tickets by default. */
export const WATCHED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type WatchedStatus = (typeof WATCHED_STATUSES)[number];

/**
 * The event the flush schedule sends the notifier: it posts every incident's
 * coalesced occurrences whose reply interval has passed (README, "Incidents,
 * not ticket storms").
 */
export const FLUSH_EVENT = { ticketBridge: 'flush' } as const;

/**
 * The item actions the notifier calls on its table, exactly (shared/aws/src:
 * `put_item`, `get_item`, `delete_item`, `update_item`): dedupe claims are
 * claimed and completed (PutItem), read (GetItem) and released after a failed
 * delivery (DeleteItem); incidents are created (PutItem), read (GetItem), and
 * every other change is one conditional UpdateItem (numbering and appending
 * occurrences, taking a batch for a reply into the incident's in-flight
 * batch and settling it, state changes, the flush index's shard and cursor
 * items, the machine index items). No Scan, Query, batch or transaction
 * actions: the flush reads the index's 64 shard items a page at a time, from
 * where the last flush stopped, instead of scanning. `test/iam-from-rust.test.ts` derives
 * the called operations from the Rust sources and fails when this list and
 * the code disagree.
 */
export const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'] as const;

/** What makes failures one incident (`INCIDENT_GROUPING`). */
export type IncidentGrouping = 'state' | 'error' | 'off';
const INCIDENT_GROUPINGS: readonly IncidentGrouping[] = ['state', 'error', 'off'];

/**
 * Incidents: a recurring failure is one case that grows with agent replies,
 * not a new case each time. They live in the idempotency table, so they need
 * it (`idempotency` not `false`).
 */
export interface IncidentOptions {
  /**
   * `state`: state machine + failed state + error name; `error`: state
   * machine + error name; `off`: every failure is its own case
   * (`INCIDENT_GROUPING`).
   * @default 'state' with the idempotency table (the notifier's default), 'off' without
   */
  readonly grouping?: IncidentGrouping;

  /**
   * How long after its last occurrence an incident still takes replies; later
   * occurrences open a new case that links the old one and lists what was
   * still waiting (`INCIDENT_WINDOW_SECONDS`). At least `replyInterval` +
   * `flushPeriod` (so the flush posts an incident's last occurrences on its
   * own case before its window passes) and twice `replyInterval`; synth fails
   * otherwise.
   * @default the notifier's default, 7 days
   */
  readonly window?: Duration;

  /**
   * At most one reply per incident per this long; occurrences in between are
   * coalesced into the next reply (`INCIDENT_REPLY_INTERVAL_SECONDS`).
   * @default the notifier's default, 60 seconds
   */
  readonly replyInterval?: Duration;

  /** `AgentName` of the replies (`REPLY_AGENT_NAME`). @default the notifier's default, 'Step Functions ticket bridge' */
  readonly agentName?: string;

  /**
   * Desk requests a second that every container of the notifier together
   * sends for incidents (`DESK_REQUESTS_PER_SECOND`), counted in one item of
   * the idempotency table. A reply beyond it waits in its incident for a
   * later occurrence or the flush; new cases always go. 0: no budget. Set it
   * below the desk's limit per API key when other tools share the key.
   * @default the notifier's default, 4 (Outseta's limit per key)
   */
  readonly deskRequestsPerSecond?: number;

  /**
   * How often an EventBridge schedule sends {@link FLUSH_EVENT} to the notifier,
   * so the last coalesced occurrences of a storm reach their case within
   * `replyInterval` + this period. Whole minutes (EventBridge's rate unit).
   * @default Duration.minutes(5): a storm's tail is on the case within 6
   * minutes, for 288 invocations a day (each about 66 GetItems and one
   * UpdateItem when nothing waits: the index's shards and cursor)
   */
  readonly flushPeriod?: Duration;
}

/** Options of {@link FailureTicketBridge.watch}. */
export interface WatchOptions {
  /** @default WATCHED_STATUSES: FAILED, TIMED_OUT and ABORTED */
  readonly statuses?: readonly WatchedStatus[];

  /**
   * Also send SUCCEEDED executions, and turn on the notifier's recovery notes
   * (`RECOVERY_NOTES=true`): a success adds one "recovered" reply to each open
   * incident of the machine. Every successful execution then invokes the
   * notifier (one GetItem when the machine has no incident). Needs incidents.
   * @default false
   */
  readonly recoveryNotes?: boolean;

  /**
   * Close an incident's case after this many SUCCEEDED executions of the
   * machine in a row (`RESOLVE_AFTER_SUCCESSES`): a "Resolved" reply, then
   * the case's `Status` set to closed. A failure sets the count back to 0;
   * a failure within `reopenWindow` of the close reopens the same case.
   * Also sends SUCCEEDED executions. One value per bridge (the notifier's
   * variable): every watch that sets it must agree. Needs incidents.
   * @default 0: cases are never closed by the bridge
   */
  readonly resolveAfterSuccesses?: number;

  /**
   * How long after the bridge closed a case a failure still reopens it
   * (`REOPEN_WINDOW_SECONDS`); later, a new case links it. Whole seconds,
   * at most 366 days. Only with `resolveAfterSuccesses`.
   * @default the notifier's default, 24 hours
   */
  readonly reopenWindow?: Duration;

  /**
   * The event bus the rule goes on, e.g. a bus that receives other accounts'
   * events. A state machine of another account or region sends its status
   * changes to its own default bus only: watch it through
   * {@link FailureTicketHub} and {@link FailureTicketSpoke}, which forward them.
   * @default the default bus of the stack's account and region
   */
  readonly eventBus?: events.IEventBus;
}

/**
 * The `detail` of an EventBridge pattern for "Step Functions Execution Status
 * Change" events with these statuses, except those whose catch chain already
 * filed a ticket (cause starting with {@link TICKET_FILED_CAUSE_PREFIX}).
 * `stateMachineArn` narrows it to machines (exact ARNs, or `{ prefix }` matchers).
 */
export function executionStatusDetail(statuses: readonly string[], stateMachineArn?: unknown[]): Record<string, unknown> {
  return {
    ...(stateMachineArn ? { stateMachineArn } : {}),
    status: [...statuses],
    $or: [
      { cause: events.Match.anythingButPrefix(TICKET_FILED_CAUSE_PREFIX) },
      { cause: events.Match.nullValue() },
      { cause: events.Match.doesNotExist() },
    ],
  };
}

/** `source` and `detail-type` of the events the bridge reports, for a rule's pattern. */
export const EXECUTION_STATUS_EVENT = { source: ['aws.states'], detailType: ['Step Functions Execution Status Change'] } as const;

/**
 * What the notifier may do on the executions of a watched state machine:
 * read the history, to find the failed state of an EventBridge event.
 */
export const WATCHED_EXECUTION_ACTIONS = ['states:GetExecutionHistory'] as const;

/**
 * What the notifier may do on a watched state machine itself: read its tags,
 * which route its cases (ROUTING, DESIGN.md "Case lifecycle").
 */
export const WATCHED_MACHINE_ACTIONS = ['states:ListTagsForResource'] as const;

/**
 * What counts as "the same failure" for the notifier's dedupe (`DEDUPE_SCOPE`):
 * one ticket per execution, per failed state of an execution, or per error
 * name of an execution (the notifier's default).
 */
export type DedupeScope = 'execution' | 'state' | 'error';
const DEDUPE_SCOPES: readonly DedupeScope[] = ['execution', 'state', 'error'];

/**
 * The notifier's idempotency table: one item per failure being or already
 * ticketed, so Step Functions retries, Lambda's async retries and EventBridge
 * redelivery file one ticket, not several.
 */
export interface IdempotencyOptions {
  /**
   * An existing table instead of a new one. It must have the partition key
   * `id` (String) and should have TTL enabled on `expiration` (epoch seconds),
   * or expired claims stay in it forever. If it is encrypted with a customer
   * managed key (`table.encryptionKey`), the notifier is also allowed to
   * encrypt and decrypt with that key.
   * @default a new on-demand table
   */
  readonly table?: dynamodb.ITable;

  /**
   * What happens to the table the bridge creates when it leaves the stack.
   * Not with `table`.
   * @default RemovalPolicy.DESTROY: the table holds only dedupe claims (a hash
   * of the failure, the case Uid and Subject) that expire after the TTL
   * anyway; deleting it loses no ticket, at worst one failure in flight gets a
   * second ticket, while RETAIN would leave an orphaned table behind per stack.
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Point-in-time recovery for the table the bridge creates. Not with `table`.
   * The content expires within a day (TTL), but it also holds the open
   * incidents and their case Uids: restoring them after a bad write keeps
   * recurring failures replying on their case instead of opening new ones.
   * A table this small costs cents a month to protect.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;

  /**
   * How long a filed ticket keeps blocking repeats of its failure
   * (`IDEMPOTENCY_TTL_SECONDS`). Keep it longer than the latest redelivery:
   * asynchronous invocations and the watch rule give up after 6 hours.
   * @default the notifier's default, 24 hours
   */
  readonly ttl?: Duration;
}

/** The notifier's typed errors (DESIGN.md) that are worth another try from Step Functions. */
const RETRYABLE_NOTIFIER_ERRORS = ['TicketDeliveryFailed'];

export interface FailureTicketBridgeProps {
  /** The support cases endpoint, e.g. `https://acme.outseta.com/api/v1/support/cases`. */
  readonly ticketApiUrl: string;

  /** The person the ticket is filed as. */
  readonly fromPerson: FromPerson;

  /**
   * An existing EventBridge connection holding the ticket API's credentials.
   * Exactly one of `connection`, `outseta` and `authorization` must be given.
   * @default a new connection from `outseta` or `authorization`
   */
  readonly connection?: events.IConnection;

  /**
   * Create a new {@link OutsetaConnection} with these credentials: the recipe
   * that works for Outseta's `Authorization: Outseta <key>:<secret>`.
   * @default no new Outseta connection
   */
  readonly outseta?: OutsetaCredentials;

  /**
   * Create a new connection with this authorization. Not for Outseta's API
   * key: EventBridge refuses the `:` in it; use `outseta`.
   * @default no new connection of this kind
   */
  readonly authorization?: events.Authorization;

  /**
   * The customer managed KMS key of the connection's secret. For a new
   * connection it is set as the connection's key; for an existing one it only
   * says which key to grant on. The notifier gets `kms:Decrypt` on it, scoped to
   * the connection's secret (see infra/README.md).
   * @default the connection's own key when it was defined in this app with one
   * (`OutsetaConnection.kmsKey`, or a key ARN in `KmsKeyIdentifier`); otherwise
   * EventBridge's AWS owned key, which needs no grant
   */
  readonly connectionKey?: kms.IKey;

  /** @default lambda.Architecture.ARM_64 (cheaper per ms; the notifier is I/O bound) */
  readonly architecture?: lambda.Architecture;

  /**
   * The notifier's code: any `lambda.Code` whose root holds the `bootstrap`
   * of the `notifier` binary for `architecture` (runtime `provided.al2023`).
   * A zip or folder that visibly does not (no `bootstrap`, or one built for
   * the other architecture) fails synthesis. Not with `fromSource`.
   * @default the prebuilt zip for `architecture` that ships in this package
   * (`assets/notifier-<arch>.zip`, checked against `assets/SHA256SUMS`): no
   * Rust toolchain needed to synthesize
   */
  readonly code?: lambda.Code;

  /**
   * Build the notifier from a Cargo workspace during synthesis, with
   * cargo-lambda-cdk (an optional peer dependency: install it yourself), for
   * `architecture`. Needs Rust, cargo-lambda and zig (or Docker) wherever
   * `cdk synth` runs. Not with `code`.
   * @default the prebuilt zip, see `code`
   */
  readonly fromSource?: NotifierSource;

  /** Memory of the notifier in MB, 128 to 10240. @default 256 */
  readonly memorySize?: number;

  /**
   * X-Ray active tracing of the notifier: Lambda samples invocations and
   * records their duration and init (the role may then write trace segments).
   * @default false
   */
  readonly tracing?: boolean;

  /**
   * An existing log group for the notifier. The notifier's role may write
   * to it (`logs:CreateLogStream`, `logs:PutLogEvents`) and to nothing else.
   * Not with `logRetention`.
   * @default a new log group with `logRetention`
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * CloudWatch namespace of the notifier's metrics (`METRICS_NAMESPACE`),
   * which its alarms and dashboard read. Give each bridge of an account and
   * region its own: the metrics carry no dimension that tells bridges apart.
   * @default 'TicketBridge' (the notifier's default)
   */
  readonly metricsNamespace?: string;

  /**
   * The alarms, each switched off with `false` or re-thresholded; see
   * {@link BridgeAlarms}. All go to the alarm topic.
   * @default every alarm with its default settings
   */
  readonly alarms?: BridgeAlarms;

  /**
   * A CloudWatch dashboard of the notifier: cases, replies, duplicates,
   * fallbacks, delivery latency p50/p99 and throttles (`true`), or some of
   * them ({@link DashboardOptions}).
   * @default false
   */
  readonly dashboard?: boolean | DashboardOptions;

  /** Outseta case `Source`, an integer from 1 to 5. @default the notifier's default (1) */
  readonly caseSource?: number;

  /** Whether Outseta mails its auto responder to the FromPerson. @default the notifier's default (false) */
  readonly sendAutoResponder?: boolean;

  /**
   * Reserved concurrency of the notifier. Outseta allows about 4 requests/s per
   * API key; two concurrent notifiers stay under that even when each makes a
   * token and a case request. `undefined` keeps the default; pass `null` to
   * reserve nothing (accounts with the initial 10-execution quota cannot reserve any).
   * @default 2
   */
  readonly reservedConcurrency?: number | null;

  /** Where alarms are sent. @default a new topic */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Where the notifier publishes a ticket it could not deliver (`FALLBACK_TOPIC_ARN`),
   * before it returns its typed error: the message holds the rendered, redacted
   * ticket and the reason. `false`: publish nowhere.
   * The notifier may `sns:Publish` to this topic and to no other; if the topic
   * has a `masterKey` it may also use that key (`kms:Decrypt`, `kms:GenerateDataKey*`).
   * An imported topic (`Topic.fromTopicArn`) carries no key: grant it yourself.
   * @default the alarm topic, so whoever gets the alarms gets the undelivered tickets
   */
  readonly fallbackTopic?: sns.ITopic | false;

  /**
   * One ticket per failure across retries and redeliveries, through a DynamoDB
   * table (`IDEMPOTENCY_TABLE`). `false`: no table (the notifier then only
   * dedupes within a warm container).
   * @default a new table, see {@link IdempotencyOptions}
   */
  readonly idempotency?: boolean | IdempotencyOptions;

  /**
   * What counts as the same failure (`DEDUPE_SCOPE`); also applies to the
   * in-container dedupe when `idempotency` is `false`.
   * @default the notifier's default, 'error'
   */
  readonly dedupeScope?: DedupeScope;

  /**
   * Incident grouping, replies and their flush schedule; see {@link IncidentOptions}.
   * @default incidents grouped by state with the idempotency table, flushed every 5 minutes
   */
  readonly incidents?: IncidentOptions;

  /** Subscribe this address to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;

  /** Retention of the log group the bridge creates; not with `logGroup`. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;

  /** @default Duration.seconds(60): the notifier's own retries must fit in it */
  readonly timeout?: Duration;

  /**
   * Extra environment for the notifier (e.g. `RUST_LOG`); it overrides the
   * variables the bridge sets, except `METRICS_NAMESPACE` (use `metricsNamespace`).
   * @default none
   */
  readonly environment?: Record<string, string>;
}

/** Options of {@link FailureTicketBridge.catchFailures}. */
export interface CatchFailuresOptions {
  /**
   * Errors to catch. Keep `States.ALL` unless the task has its own handling for some.
   * @default [sfn.Errors.ALL]
   */
  readonly errors?: string[];
}

/** A state that supports `addCatch`. */
export type CatchableState = sfn.TaskStateBase | sfn.Parallel | sfn.Map | sfn.DistributedMap | sfn.CustomState;

/** The states built for one failed state's catch path. */
export interface FailureChain {
  /** Calls the notifier with the caught error and context; first state of the chain. */
  readonly notify: tasks.LambdaInvoke;
  /** Reached after a ticket was filed: fails with the original error name. */
  readonly failed: sfn.Fail;
  /** Reached when the notifier itself failed: original error and cause, so `watch` reports it. */
  readonly failedWithoutTicket: sfn.Fail;
}

/**
 * Turns Step Functions failures into support tickets.
 *
 * Creates the Rust notifier Lambda (from the zip this package ships, no Rust
 * toolchain needed) with what it needs to run unattended: reserved
 * concurrency, a dead-letter queue for asynchronous (EventBridge)
 * invocations, alarms on its errors, throttles, undelivered tickets and that
 * queue, a bounded log group, a DynamoDB table so retries and redeliveries
 * file one ticket per failure, an SNS fallback (the alarm topic by default)
 * for tickets it cannot deliver, and optionally a dashboard and X-Ray tracing.
 * State machines use it in two ways, best together:
 * - {@link catchFailures}: a `Catch` on a task routes to the notifier with the
 *   execution context, then to a `Fail` state, so the ticket names the state;
 * - {@link watch}: an EventBridge rule reports executions that failed, timed out
 *   or were aborted without going through a catch chain.
 */
export class FailureTicketBridge extends Construct {
  /** The notifier Lambda. */
  readonly notifier: lambda.Function;
  /** The connection whose secret the notifier reads. */
  readonly connection: events.IConnection;
  /** ARN of the customer managed key of the connection's secret; `undefined` for the AWS owned key. */
  readonly connectionKeyArn?: string;
  /** Events the notifier could not process after all retries. */
  readonly deadLetterQueue: sqs.Queue;
  /** Receives the alarms. */
  readonly alarmTopic: sns.ITopic;
  /** Receives the tickets the notifier could not deliver; `undefined` with `fallbackTopic: false`. */
  readonly fallbackTopic?: sns.ITopic;
  /** The notifier's dedupe table; `undefined` with `idempotency: false`. */
  readonly idempotencyTable?: dynamodb.ITable;
  /** The schedule that sends {@link FLUSH_EVENT}; `undefined` when incidents are off. */
  readonly flushRule?: events.Rule;
  /** The CloudWatch namespace of the notifier's metrics (`METRICS_NAMESPACE`). */
  readonly metricsNamespace: string;
  /** Every alarm the bridge created, by name (see {@link BridgeAlarms}); a switched-off alarm is absent. */
  readonly alarms: Partial<Record<BridgeAlarmName, cloudwatch.Alarm>>;
  /** Notifier `Errors`; `undefined` when switched off (`alarms.errors: false`). */
  readonly errorsAlarm?: cloudwatch.Alarm;
  /** Dead-letter queue depth; `undefined` when switched off (`alarms.deadLetters: false`). */
  readonly deadLetterAlarm?: cloudwatch.Alarm;
  /** The dashboard; `undefined` without `dashboard`. */
  readonly dashboard?: cloudwatch.Dashboard;
  /** The notifier's log group: the one it created, or `logGroup`. */
  readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: FailureTicketBridgeProps) {
    super(scope, id);

    const sources = [props.connection, props.outseta, props.authorization].filter((value) => value !== undefined);
    if (sources.length !== 1) {
      throw new Error('FailureTicketBridge: pass exactly one of `connection` (existing), `outseta` and `authorization` (new connection)');
    }
    if (props.connection) {
      this.connection = props.connection;
    } else if (props.outseta) {
      this.connection = new OutsetaConnection(this, 'Connection', {
        credentials: props.outseta,
        description: 'Outseta credentials of the ticket API, read by the failure notifier',
        kmsKey: props.connectionKey,
      });
    } else {
      const connection = new events.Connection(this, 'Connection', {
        authorization: props.authorization!,
        description: 'Credentials of the ticket API, read by the failure notifier',
      });
      if (props.connectionKey) {
        cfnConnectionOf(connection)!.kmsKeyIdentifier = props.connectionKey.keyArn;
      }
      this.connection = connection;
    }
    // A literal the EventBridge API would refuse fails synthesis, naming the field.
    validateConnectionParameters(this.connection);
    this.connectionKeyArn = connectionKeyArn(this.connection, props.connectionKey);

    if (props.caseSource !== undefined && !(Number.isInteger(props.caseSource) && props.caseSource >= 1 && props.caseSource <= 5)) {
      throw new Error(`FailureTicketBridge: \`caseSource\` must be an integer from 1 to 5, got ${props.caseSource}`);
    }
    if (props.dedupeScope !== undefined && !DEDUPE_SCOPES.includes(props.dedupeScope)) {
      throw new Error(`FailureTicketBridge: \`dedupeScope\` must be one of ${DEDUPE_SCOPES.join(', ')}, got ${props.dedupeScope}`);
    }
    const memorySize = props.memorySize ?? 256;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) {
      throw new Error(`FailureTicketBridge: \`memorySize\` must be a whole number of MB from 128 to 10240, got ${props.memorySize}`);
    }
    if (props.environment && 'METRICS_NAMESPACE' in props.environment) {
      throw new Error('FailureTicketBridge: set `metricsNamespace` instead of `environment.METRICS_NAMESPACE`: the alarms and the dashboard read the namespace from it');
    }
    this.metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    validateMetricsNamespace(this.metricsNamespace);
    // Checked before anything is built: a typo fails synthesis naming the prop.
    const alarmSettings = resolveAlarms(props.alarms);
    const dashboardOptions = resolveDashboard(props.dashboard);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    if (props.code && props.fromSource) {
      throw new Error('FailureTicketBridge: pass `code` or `fromSource`, not both');
    }
    if (props.code) checkBootstrap(props.code, architecture, '`code`');

    if (props.logGroup && props.logRetention !== undefined) {
      throw new Error('FailureTicketBridge: `logRetention` applies to the log group the bridge creates; set the retention of your `logGroup` yourself');
    }
    this.logGroup =
      props.logGroup ??
      new logs.LogGroup(this, 'NotifierLogs', {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      });

    if (props.alarmTopic && props.alarmEmail) {
      throw new Error('FailureTicketBridge: `alarmEmail` subscribes to the topic the bridge creates; subscribe your own `alarmTopic` yourself');
    }
    let topic: sns.ITopic;
    if (props.alarmTopic) {
      topic = props.alarmTopic;
    } else {
      // TLS only (a topic policy denies plain HTTP). Unencrypted (SNS's default): publishing then needs no KMS permission.
      topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Failure ticket bridge alarms', enforceSSL: true });
      acknowledge(
        topic,
        'AwsSolutions-SNS2',
        'CloudWatch alarm actions cannot publish to a topic encrypted with the AWS managed SNS key, and a customer managed key ' +
          'would cost a key and a key policy for cloudwatch.amazonaws.com in every stack. The topic carries alarm states and ' +
          'tickets that the notifier redacted before rendering; pass `alarmTopic` to use a topic encrypted with your own key.',
      );
    }
    if (props.alarmEmail) {
      topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.alarmTopic = topic;
    this.fallbackTopic = props.fallbackTopic === false ? undefined : (props.fallbackTopic ?? topic);
    if (!this.fallbackTopic && alarmSettings.fallbackPublished?.explicit) {
      throw new Error('FailureTicketBridge: `alarms.fallbackPublished` watches the fallback topic, and `fallbackTopic` is false');
    }

    const idempotency = idempotencyOptions(props.idempotency);
    if (idempotency?.table && (idempotency.removalPolicy !== undefined || idempotency.pointInTimeRecovery !== undefined)) {
      throw new Error('FailureTicketBridge: `idempotency.removalPolicy` and `pointInTimeRecovery` apply to the table the bridge creates, not to an existing `table`');
    }
    let ttlSeconds: number | undefined;
    if (idempotency?.ttl !== undefined) {
      ttlSeconds = idempotency.ttl.toSeconds({ integral: false });
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
        throw new Error(`FailureTicketBridge: \`idempotency.ttl\` must be a whole number of seconds, at least 1, got ${idempotency.ttl.toHumanString()}`);
      }
    }
    this.idempotencyTable = idempotency && (idempotency.table ?? this.createIdempotencyTable(idempotency));
    const incidents = incidentSettings(props.incidents, this.idempotencyTable !== undefined);
    this.incidentsOn = incidents.on;

    // A role of its own instead of Lambda's default, whose AWS managed
    // AWSLambdaBasicExecutionRole may create log groups and write to any of
    // them: this one may write to the notifier's log group and nothing else.
    const role = new iam.Role(this, 'NotifierRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Role of the failure ticket notifier',
    });
    this.logGroup.grantWrite(role);
    acknowledgeWildcardResource(
      role,
      this.logGroup.logGroupArn,
      'The ARN of a log group given by name ends in ":*", which covers its log streams (named by Lambda per instance); it is the one log group the notifier writes to.',
    );

    const reserved = props.reservedConcurrency === undefined ? 2 : props.reservedConcurrency;
    const functionProps = {
      role,
      architecture,
      description: 'Files a support ticket for a failed Step Functions execution',
      memorySize,
      timeout: props.timeout ?? Duration.seconds(60),
      reservedConcurrentExecutions: reserved ?? undefined,
      logGroup: this.logGroup,
      // Lambda then sets AWS_LAMBDA_LOG_FORMAT=JSON, which the Rust functions' tracing setup follows.
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
      environment: {
        TICKET_API_URL: props.ticketApiUrl,
        CONNECTION_SECRET_ID: this.connection.connectionSecretArn,
        ...fromPersonEnvironment(props.fromPerson),
        ...(props.caseSource !== undefined ? { CASE_SOURCE: String(props.caseSource) } : {}),
        ...(props.sendAutoResponder !== undefined ? { SEND_AUTO_RESPONDER: String(props.sendAutoResponder) } : {}),
        ...(this.idempotencyTable ? { IDEMPOTENCY_TABLE: this.idempotencyTable.tableName } : {}),
        ...(ttlSeconds !== undefined ? { IDEMPOTENCY_TTL_SECONDS: String(ttlSeconds) } : {}),
        ...(props.dedupeScope !== undefined ? { DEDUPE_SCOPE: props.dedupeScope } : {}),
        ...(this.fallbackTopic ? { FALLBACK_TOPIC_ARN: this.fallbackTopic.topicArn } : {}),
        ...incidents.environment,
        ...props.environment,
        // Always set: the alarms and the dashboard read this namespace.
        METRICS_NAMESPACE: this.metricsNamespace,
      },
    } satisfies lambda.FunctionOptions;
    if (props.fromSource) {
      const { RustFunction } = loadCargoLambdaCdk();
      this.notifier = new RustFunction(this, 'Notifier', {
        ...functionProps,
        manifestPath: props.fromSource.manifestPath,
        binaryName: 'notifier',
        runtime: 'provided.al2023',
        bundling: {
          architecture,
          ...(props.fromSource.profile !== undefined ? { profile: props.fromSource.profile } : {}),
          ...(props.fromSource.cargoLambdaFlags !== undefined ? { cargoLambdaFlags: props.fromSource.cargoLambdaFlags } : {}),
        },
      } satisfies RustFunctionProps);
    } else {
      this.notifier = new lambda.Function(this, 'Notifier', {
        ...functionProps,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        code: props.code ?? prebuiltNotifierCode(this, architecture),
      });
    }
    if (props.tracing) {
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray active tracing (`tracing: true`): xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so Lambda grants them on "*".',
      );
    }

    // The connection's secret holds the ticket API credentials; nothing else is readable.
    this.notifier.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.connection.connectionSecretArn],
      }),
    );
    // ... and, with a customer managed key, decrypted with that key for that secret only.
    if (this.connectionKeyArn) {
      this.notifier.addToRolePolicy(connectionSecretDecryptStatement(this, this.connection, this.connectionKeyArn));
    }

    // Written out rather than `table.grantReadWriteData`, which adds Scan, Query,
    // the batch actions, ConditionCheckItem and DescribeTable.
    if (this.idempotencyTable) {
      this.notifier.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...IDEMPOTENCY_TABLE_ACTIONS], resources: [this.idempotencyTable.tableArn] }),
      );
      if (this.idempotencyTable.encryptionKey) {
        this.idempotencyTable.encryptionKey.grantEncryptDecrypt(this.notifier);
        const reason = "KMS names data key generation and re-encryption as action families; the grant is scoped to the table's own key, which DynamoDB calls on the notifier's behalf.";
        acknowledge(role, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason);
        acknowledge(role, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason);
      }
    }

    // What `topic.grantPublish` does, minus its fallback to the topic's resource
    // policy: the permission stays on the notifier's role, where it can be read.
    if (this.fallbackTopic) {
      this.notifier.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.fallbackTopic.topicArn] }));
      if (this.fallbackTopic.masterKey) {
        this.fallbackTopic.masterKey.grant(this.notifier, 'kms:Decrypt', 'kms:GenerateDataKey*');
        acknowledge(
          role,
          'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
          "SNS needs kms:GenerateDataKey* (a family of one action and its variant without plaintext) to publish to an encrypted topic; scoped to the fallback topic's own key.",
        );
      }
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue: of the watch rules, and the on-failure destination of the notifier; nothing consumes it automatically, so a queue behind it would never be used.',
    );
    // Asynchronous invocations (the watch rules) that still fail after Lambda's
    // own retries land here instead of vanishing.
    this.notifier.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });

    // Coalesced occurrences reach their case even when no later failure
    // comes to post them. A flush that keeps failing ends in the dead-letter
    // queue like any asynchronous invocation, which raises that alarm.
    if (incidents.on) {
      this.flushRule = new events.Rule(this, 'IncidentFlush', {
        description: 'Posts the incident occurrences waiting for a reply to their support cases',
        schedule: events.Schedule.rate(incidents.flushPeriod),
      });
      this.flushRule.addTarget(
        new targets.LambdaFunction(this.notifier, {
          event: events.RuleTargetInput.fromObject(FLUSH_EVENT),
          retryAttempts: 2,
          // A flush older than the next one is worth nothing.
          maxEventAge: incidents.flushPeriod,
        }),
      );
    }

    // When tickets cannot be filed, the alarm mail is the second line of defence.
    this.alarms = this.createAlarms(alarmSettings, topic);
    this.errorsAlarm = this.alarms.errors;
    this.deadLetterAlarm = this.alarms.deadLetters;
    if (dashboardOptions) this.dashboard = this.createDashboard(dashboardOptions);
  }

  /**
   * One of the notifier's counts (`CasesFiled`, `NotDelivered`, ...) summed
   * over every `Outcome`: a CloudWatch Metrics Insights query, for alarms and
   * graphs of your own.
   * @param period @default Duration.minutes(5)
   */
  metricCount(name: NotifierCountMetric, period: Duration = Duration.minutes(5)): cloudwatch.IMetric {
    return countMetric(this.metricsNamespace, name, period);
  }

  private createAlarms(settings: Record<BridgeAlarmName, ResolvedAlarm | undefined>, topic: sns.ITopic): Partial<Record<BridgeAlarmName, cloudwatch.Alarm>> {
    const sum = cloudwatch.Stats.SUM;
    const max = cloudwatch.Stats.MAXIMUM;
    const specs: Record<BridgeAlarmName, { id: string; description: string; metric: (period: Duration) => cloudwatch.IMetric; skip?: boolean }> = {
      errors: {
        id: 'NotifierErrors',
        description: 'The failure notifier returned errors: failures may have gone without a ticket',
        metric: (period) => this.notifier.metricErrors({ period, statistic: sum }),
      },
      throttles: {
        id: 'NotifierThrottles',
        description: 'The failure notifier was throttled period after period: its reserved concurrency is too small for the failures, tickets are late',
        metric: (period) => this.notifier.metricThrottles({ period, statistic: sum }),
      },
      fallbackPublished: {
        id: 'FallbackPublished',
        description: 'The support desk did not take a ticket: the notifier published it to the fallback topic instead',
        metric: (period) => countMetric(this.metricsNamespace, 'FallbackPublished', period),
        skip: !this.fallbackTopic,
      },
      notDelivered: {
        id: 'NotDelivered',
        description: 'The failure notifier could not deliver a ticket to the support desk',
        metric: (period) => countMetric(this.metricsNamespace, 'NotDelivered', period),
      },
      deadLetters: {
        id: 'DeadLetters',
        description: 'Failure events are waiting in the notifier dead-letter queue: no ticket was filed for them',
        metric: (period) => this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: max }),
      },
      deadLetterAge: {
        id: 'DeadLetterAge',
        description: 'A failure event has waited in the notifier dead-letter queue for long: nobody has filed its ticket (events expire after 14 days)',
        metric: (period) => this.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, statistic: max }),
      },
    };
    const alarms: Partial<Record<BridgeAlarmName, cloudwatch.Alarm>> = {};
    for (const name of BRIDGE_ALARMS) {
      const setting = settings[name];
      const spec = specs[name];
      if (!setting || spec.skip) continue;
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        alarmDescription: spec.description,
        metric: spec.metric(setting.period),
        threshold: setting.threshold,
        evaluationPeriods: setting.evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new cwActions.SnsAction(topic));
      alarms[name] = alarm;
    }
    return alarms;
  }

  private createDashboard(options: { widgets: DashboardWidget[]; period: Duration; dashboardName?: string }): cloudwatch.Dashboard {
    const { period } = options;
    const count = (name: NotifierCountMetric) => countMetric(this.metricsNamespace, name, period);
    const graph = (title: string, left: cloudwatch.IMetric[], leftYAxis?: cloudwatch.YAxisProps) =>
      new cloudwatch.GraphWidget({ title, left, leftYAxis: leftYAxis ?? { min: 0 }, width: 12, height: 6 });
    const widgets: Record<DashboardWidget, () => cloudwatch.IWidget> = {
      cases: () => graph('Cases filed', [count('CasesFiled')]),
      replies: () => graph('Replies (posted, coalesced into a later reply)', [count('RepliesPosted'), count('RepliesCoalesced')]),
      duplicates: () => graph('Not filed on purpose (duplicates, muted incidents)', [count('Duplicates'), count('Muted')]),
      fallbacks: () => graph('Not delivered (and published to the fallback topic)', [count('NotDelivered'), count('FallbackPublished')]),
      latency: () =>
        graph(
          'Delivery time p50 / p99 by outcome (ms)',
          [valueMetricByOutcome(this.metricsNamespace, 'DeliveryMs', 'p50', period), valueMetricByOutcome(this.metricsNamespace, 'DeliveryMs', 'p99', period)],
          { min: 0, label: 'ms', showUnits: false },
        ),
      throttles: () =>
        graph('Notifier throttles and concurrency', [
          this.notifier.metricThrottles({ period, statistic: cloudwatch.Stats.SUM, label: 'Throttles' }),
          this.notifier.metric('ConcurrentExecutions', { period, statistic: cloudwatch.Stats.MAXIMUM, label: 'Concurrent executions (max)' }),
        ]),
    };
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: options.dashboardName,
      defaultInterval: Duration.days(1),
    });
    const built = options.widgets.map((name) => widgets[name]());
    for (let i = 0; i < built.length; i += 2) dashboard.addWidgets(...built.slice(i, i + 2));
    return dashboard;
  }

  /**
   * Lets `grantee` decrypt the connection's secret when it has a customer
   * managed key (the same scoped `kms:Decrypt` the notifier gets), e.g. the
   * role of a state machine whose own HTTP tasks use this connection.
   * `ScopedHttpInvoke` does this by itself. Returns whether anything was granted.
   */
  grantConnectionKeyDecrypt(grantee: iam.IGrantable): boolean {
    if (!this.connectionKeyArn) return false;
    grantee.grantPrincipal.addToPrincipalPolicy(connectionSecretDecryptStatement(this, this.connection, this.connectionKeyArn));
    return true;
  }

  /** Whether the notifier groups failures into incidents (table present, grouping not off). */
  private readonly incidentsOn: boolean;
  /** What {@link enableAutoResolve} set, so a second watch cannot change it. */
  private readonly autoResolve = new Map<string, string>();

  private watchedExecutions?: iam.Policy;

  /**
   * The notifier's permissions on watched executions, in a policy of its own:
   * the function does not depend on it, so it can name machines that invoke the
   * notifier without a dependency cycle.
   */
  private watchedExecutionsPolicy(): iam.Policy {
    this.watchedExecutions ??= new iam.Policy(this, 'WatchedExecutions', { roles: [this.notifier.role!] });
    return this.watchedExecutions;
  }

  /**
   * The dedupe table: on demand (a handful of writes per failure, nothing
   * between failures), keyed by the notifier's `id` hash, with expired claims
   * removed by DynamoDB's TTL on `expiration`.
   */
  private createIdempotencyTable(options: IdempotencyOptions): dynamodb.Table {
    return new dynamodb.Table(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiration',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: options.pointInTimeRecovery ?? true },
      removalPolicy: options.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }

  /**
   * Builds the catch path for the state named `failedStateName`: a notifier
   * task, then a `Fail` state. Use it as the handler of your own `addCatch`
   * with `resultPath: '$.error'`, or let {@link catchFailures} do both.
   *
   * The states are created under `scope`; their names derive from the failed
   * state's name, which keeps them unique in the machine.
   */
  failureChain(scope: Construct, failedStateName: string): FailureChain {
    const names = failureStateNames(failedStateName);
    const idBase = failedStateName.replace(/\//g, '_');
    const notify = new tasks.LambdaInvoke(scope, `${idBase}NotifyFailure`, {
      stateName: names.notify,
      comment: `Files a ticket for the failure caught in ${failedStateName}`,
      lambdaFunction: this.notifier,
      // The catch put {Error, Cause} at $.error; the rest is context the ticket needs
      // and that the state input does not carry.
      payload: sfn.TaskInput.fromObject({
        error: sfn.JsonPath.objectAt('$.error'),
        execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
        stateMachine: sfn.JsonPath.stringAt('$$.StateMachine.Name'),
        failedState: failedStateName,
        startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
        // A redriven execution keeps its ARN: the count tells its failures apart (dedupe key).
        redriveCount: sfn.JsonPath.numberAt('$$.Execution.RedriveCount'),
        input: sfn.JsonPath.entirePayload,
      }),
      payloadResponseOnly: true,
      // Keep the input (with $.error) so the Fail state can re-raise the original error.
      resultPath: '$.ticket',
    });
    // Reserved concurrency makes throttling likely during a burst of failures.
    notify.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 5,
      jitterStrategy: sfn.JitterType.FULL,
    });
    // The notifier already retried within its deadline; one later attempt rides out short outages.
    notify.addRetry({
      errors: RETRYABLE_NOTIFIER_ERRORS,
      interval: Duration.seconds(15),
      backoffRate: 2,
      maxAttempts: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });

    const failed = new sfn.Fail(scope, `${idBase}Failed`, {
      stateName: names.failed,
      comment: 'Ticket filed; the execution still fails with the original error',
      errorPath: '$.error.Error',
      cause: `${TICKET_FILED_CAUSE_PREFIX} for state ${failedStateName}; the original cause is in the ticket and the execution history.`,
    });
    const failedWithoutTicket = new sfn.Fail(scope, `${idBase}FailedNoTicket`, {
      stateName: names.failedWithoutTicket,
      comment: 'The notifier failed too: re-raise the original error so the watch rule reports it',
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    // $.error must survive, so the notifier's own error goes elsewhere.
    notify.addCatch(failedWithoutTicket, { errors: [sfn.Errors.ALL], resultPath: '$.notifierError' });
    notify.next(failed);
    // The task grants the state machine's role lambda:InvokeFunction on the
    // notifier and on "<notifier ARN>:*" (its versions and aliases): a finding
    // on the machine's role, which does not exist yet, so it is acknowledged on
    // the stack, for exactly that resource.
    acknowledgeWildcardResource(
      Stack.of(scope),
      `${this.notifier.functionArn}:*`,
      'Step Functions invokes the failure notifier by its ARN and may invoke its versions and aliases ("<notifier ARN>:*", how CDK grants a Lambda task); no other function.',
    );
    return { notify, failed, failedWithoutTicket };
  }

  /**
   * Adds a `Catch` (`States.ALL` by default, `ResultPath: "$.error"`) to each
   * state, routed through its own {@link failureChain}.
   */
  catchFailures(states: CatchableState[], options: CatchFailuresOptions = {}): FailureChain[] {
    return states.map((state) => {
      const chain = this.failureChain(state, state.stateId);
      state.addCatch(chain.notify, { errors: options.errors ?? [sfn.Errors.ALL], resultPath: '$.error' });
      return chain;
    });
  }

  /**
   * Reports executions of `stateMachine` that end FAILED, TIMED_OUT or ABORTED
   * (or the `statuses` given, as a list or in `options`), except those whose
   * catch chain already filed a ticket. With `{ recoveryNotes: true }` it also
   * sends SUCCEEDED executions and turns the notifier's recovery notes on. The
   * notifier is invoked asynchronously; events it cannot process end in the
   * dead-letter queue.
   * It may read the history of this machine's executions (to name the failed
   * state), and of no other machine's.
   *
   * Standard workflows only: EventBridge receives execution status change
   * events from Standard workflows, not from Express ones, so an Express
   * machine defined in this app is refused; use {@link catchFailures} there.
   */
  watch(stateMachine: sfn.IStateMachine, options: readonly WatchedStatus[] | WatchOptions = {}): events.Rule {
    const {
      statuses = WATCHED_STATUSES,
      recoveryNotes = false,
      eventBus,
      resolveAfterSuccesses = 0,
      reopenWindow,
    }: WatchOptions = isStatusList(options) ? { statuses: options } : options;
    if (isExpress(stateMachine)) {
      throw new Error(
        `FailureTicketBridge.watch: ${stateMachine.node.path} is an Express state machine. EventBridge gets ` +
          '"Step Functions Execution Status Change" events from Standard workflows only, so the rule would never fire. ' +
          'Use catchFailures() on its tasks instead (the Catch path works in Express workflows).',
      );
    }
    if (!eventBus) this.refuseForeignMachine(stateMachine);
    if (recoveryNotes) this.enableRecoveryNotes('FailureTicketBridge.watch');
    this.enableAutoResolve(resolveAfterSuccesses, reopenWindow, 'FailureTicketBridge.watch');
    const successes = recoveryNotes || resolveAfterSuccesses > 0;
    const executions = executionArnsOf(stateMachine);
    const policy = this.watchedExecutionsPolicy();
    policy.addStatements(
      new iam.PolicyStatement({ actions: [...WATCHED_EXECUTION_ACTIONS], resources: [executions] }),
      // Routing by the machine's own tags (ticket-bridge:assignee, :tags,
      // :severity, :runbook), read by the notifier on both paths.
      new iam.PolicyStatement({ actions: [...WATCHED_MACHINE_ACTIONS], resources: [stateMachine.stateMachineArn] }),
    );
    acknowledgeWildcardResource(
      policy,
      executions,
      `Execution ARNs are made per execution; "<machine name>:*" is every execution of ${stateMachine.node.path} and of no other machine. ` +
        'The notifier reads their history to name the failed state.',
    );
    const rule = new events.Rule(this, `Watch${Names.nodeUniqueId(stateMachine.node)}`, {
      description: successes
        ? `Files a ticket when ${stateMachine.node.path} fails without a caught ticket, and follows it when it recovers`
        : `Files a ticket when ${stateMachine.node.path} fails without a caught ticket`,
      eventBus,
      eventPattern: {
        source: [...EXECUTION_STATUS_EVENT.source],
        detailType: [...EXECUTION_STATUS_EVENT.detailType],
        detail: executionStatusDetail([...statuses, ...(successes ? ['SUCCEEDED'] : [])], [stateMachine.stateMachineArn]),
      },
    });
    rule.addTarget(this.notifierTarget());
    return rule;
  }

  /**
   * The notifier as an EventBridge target, as {@link watch} adds it: invoked
   * asynchronously, 8 retries within 6 hours, then the dead-letter queue.
   */
  notifierTarget(): targets.LambdaFunction {
    return new targets.LambdaFunction(this.notifier, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 8,
      maxEventAge: Duration.hours(6),
    });
  }

  /**
   * Turns on the notifier's recovery notes (`RECOVERY_NOTES=true`): a
   * SUCCEEDED event adds a "recovered" reply to the machine's open incidents.
   * Needs incidents. `caller` names who asked, in the error.
   */
  enableRecoveryNotes(caller = 'FailureTicketBridge'): void {
    if (!this.incidentsOn) {
      throw new Error(`${caller}: \`recoveryNotes\` are replies on incidents, which need the idempotency table and a grouping other than off`);
    }
    this.notifier.addEnvironment('RECOVERY_NOTES', 'true');
  }

  /**
   * Turns on closing cases after `n` successes in a row
   * (`RESOLVE_AFTER_SUCCESSES`, and `REOPEN_WINDOW_SECONDS` when `reopenWindow`
   * is given). Nothing when `n` is 0 and no window is given. The variables are
   * the notifier's, one value each: a second caller asking for another value is
   * refused rather than silently overriding the first. `caller` names who
   * asked, in the error.
   */
  enableAutoResolve(n: number, reopenWindow: Duration | undefined, caller = 'FailureTicketBridge'): void {
    if (n === 0 && reopenWindow === undefined) return;
    const fail = (message: string) => {
      throw new Error(`${caller}: ${message}`);
    };
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      fail(`\`resolveAfterSuccesses\` must be a whole number from 1 to 1000, got ${n}`);
    }
    if (!this.incidentsOn) {
      fail('`resolveAfterSuccesses` closes incidents\' cases, which need the idempotency table and a grouping other than off');
    }
    const settings: Record<string, string> = { RESOLVE_AFTER_SUCCESSES: String(n) };
    if (reopenWindow !== undefined) {
      const s = reopenWindow.toSeconds({ integral: false });
      if (!Number.isInteger(s) || s < 0 || s > 366 * 24 * 3600) {
        fail(`\`reopenWindow\` must be a whole number of seconds, at most 366 days, got ${reopenWindow.toHumanString()}`);
      }
      settings.REOPEN_WINDOW_SECONDS = String(s);
    }
    for (const [name, value] of Object.entries(settings)) {
      const earlier = this.autoResolve.get(name);
      if (earlier !== undefined && earlier !== value) {
        fail(`${name} is already ${earlier} (one value per bridge); asked for ${value}`);
      }
      this.autoResolve.set(name, value);
      this.notifier.addEnvironment(name, value);
    }
  }

  /**
   * A machine of another account or region (both known at synth) never sends
   * its events to this stack's default bus: a rule there would never fire.
   */
  private refuseForeignMachine(stateMachine: sfn.IStateMachine): void {
    const arn = stateMachine.stateMachineArn;
    if (Token.isUnresolved(arn)) return;
    const { account, region } = Arn.split(arn, ArnFormat.COLON_RESOURCE_NAME);
    const stack = Stack.of(this);
    const foreign = (theirs: string | undefined, ours: string) => theirs !== undefined && theirs !== '' && !Token.isUnresolved(ours) && theirs !== ours;
    const where = foreign(account, stack.account) ? `account ${account}` : foreign(region, stack.region) ? `region ${region}` : undefined;
    if (!where) return;
    throw new Error(
      `FailureTicketBridge.watch: ${arn} is in ${where}, and this stack is in account ${stack.account}, region ${stack.region}: ` +
        "its status changes go to its own account and region's default bus, so a rule here would never fire. " +
        'Deploy a FailureTicketSpoke there (it forwards them to a FailureTicketHub bus, whose notifier reads the history through the spoke role), ' +
        'or pass `eventBus` if its events already reach a bus of this stack.',
    );
  }
}

/** Whether `stateMachine` is defined in this app as an Express workflow. */
function isExpress(stateMachine: sfn.IStateMachine): boolean {
  if (stateMachine instanceof sfn.StateMachine) return stateMachine.stateMachineType === sfn.StateMachineType.EXPRESS;
  const resource = stateMachine.node.defaultChild;
  return resource instanceof sfn.CfnStateMachine && resource.stateMachineType === sfn.StateMachineType.EXPRESS;
}

/**
 * `arn:<partition>:states:<region>:<account>:execution:<machine name>:*`: every
 * execution of the machine, and nothing of any other machine (execution ARNs
 * are the machine's name, a colon, then the execution's name).
 */
export function executionArnsOf(stateMachine: sfn.IStateMachine): string {
  if (stateMachine instanceof sfn.StateMachine) {
    return Stack.of(stateMachine).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
  const parts = Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME);
  return Arn.format({ ...parts, resource: 'execution', resourceName: `${parts.resourceName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** State names of the catch path for `failedStateName` (ASL state names are at most 80 characters). */
export function failureStateNames(failedStateName: string): { notify: string; failed: string; failedWithoutTicket: string } {
  const names = {
    notify: `${failedStateName}-NotifyFailure`,
    failed: `${failedStateName}-Failed`,
    failedWithoutTicket: `${failedStateName}-FailedNoTicket`,
  };
  for (const name of Object.values(names)) {
    if ([...name].length > 80) {
      throw new Error(`FailureTicketBridge: state name "${name}" is longer than 80 characters; shorten "${failedStateName}"`);
    }
  }
  return names;
}

function isStatusList(options: readonly WatchedStatus[] | WatchOptions): options is readonly WatchedStatus[] {
  return Array.isArray(options);
}

/** The notifier's own defaults of `INCIDENT_WINDOW_SECONDS` and `INCIDENT_REPLY_INTERVAL_SECONDS`. */
const NOTIFIER_WINDOW_S = 7 * 24 * 3600;
const NOTIFIER_REPLY_INTERVAL_S = 60;

/** What the `incidents` prop turns into: whether they are on, their schedule, the environment. */
function incidentSettings(
  options: IncidentOptions | undefined,
  hasTable: boolean,
): { on: boolean; flushPeriod: Duration; environment: Record<string, string> } {
  const o = options ?? {};
  const fail = (message: string) => {
    throw new Error(`FailureTicketBridge: \`incidents.${message}`);
  };
  if (o.grouping !== undefined && !INCIDENT_GROUPINGS.includes(o.grouping)) {
    fail(`grouping\` must be one of ${INCIDENT_GROUPINGS.join(', ')}, got ${o.grouping}`);
  }
  const on = hasTable && o.grouping !== 'off';
  const configured = [o.window, o.replyInterval, o.agentName, o.flushPeriod, o.deskRequestsPerSecond].some((v) => v !== undefined);
  if (!hasTable && ((o.grouping !== undefined && o.grouping !== 'off') || configured)) {
    // The notifier refuses state/error grouping without a table (ConfigError); fail at synth instead.
    fail('*` need the idempotency table (incidents live in it); remove `idempotency: false` or the `incidents` settings');
  }
  const seconds = (name: string, d: Duration | undefined, min: number) => {
    if (d === undefined) return undefined;
    const s = d.toSeconds({ integral: false });
    if (!Number.isInteger(s) || s < min) fail(`${name}\` must be a whole number of seconds, at least ${min}, got ${d.toHumanString()}`);
    return String(s);
  };
  const window = seconds('window', o.window, 1);
  const interval = seconds('replyInterval', o.replyInterval, 0);
  const flushPeriod = o.flushPeriod ?? Duration.minutes(5);
  const minutes = flushPeriod.toSeconds({ integral: false }) / 60;
  if (!Number.isInteger(minutes) || minutes < 1) {
    fail(`flushPeriod\` must be a whole number of minutes, at least 1, got ${flushPeriod.toHumanString()}`);
  }
  // The flush posts an incident's last occurrences within replyInterval +
  // flushPeriod; a window shorter than that expires incidents with
  // occurrences still waiting, which then go on the next case rather than
  // their own. The notifier itself refuses a window under twice the interval.
  const windowS = window !== undefined ? Number(window) : NOTIFIER_WINDOW_S;
  const intervalS = interval !== undefined ? Number(interval) : NOTIFIER_REPLY_INTERVAL_S;
  const flushS = flushPeriod.toSeconds();
  if (windowS < intervalS + flushS || windowS < 2 * intervalS) {
    fail(
      `window\` (${windowS} s${window === undefined ? ', the default' : ''}) must be at least \`incidents.replyInterval\` + \`incidents.flushPeriod\` ` +
        `(${intervalS} s + ${flushS} s) and twice \`incidents.replyInterval\` (${2 * intervalS} s), so an incident's last occurrences reach its own case before its window passes`,
    );
  }
  if (o.agentName !== undefined && (o.agentName.trim() === '' || [...o.agentName].length > 100 || [...o.agentName].some((c) => c.charCodeAt(0) < 0x20))) {
    fail('agentName` must be one non-empty line of at most 100 characters');
  }
  const desk = o.deskRequestsPerSecond;
  if (desk !== undefined && !(Number.isInteger(desk) && desk >= 0 && desk <= 1000)) {
    fail(`deskRequestsPerSecond\` must be a whole number from 0 to 1000, got ${desk}`);
  }
  return {
    on,
    flushPeriod,
    environment: {
      ...(o.grouping !== undefined && hasTable ? { INCIDENT_GROUPING: o.grouping } : {}),
      ...(window !== undefined ? { INCIDENT_WINDOW_SECONDS: window } : {}),
      ...(interval !== undefined ? { INCIDENT_REPLY_INTERVAL_SECONDS: interval } : {}),
      ...(o.agentName !== undefined ? { REPLY_AGENT_NAME: o.agentName } : {}),
      ...(desk !== undefined ? { DESK_REQUESTS_PER_SECOND: String(desk) } : {}),
    },
  };
}

/** cargo-lambda-cdk, loaded only for `fromSource`: an optional peer dependency that prebuilt users never install. */
function loadCargoLambdaCdk(): typeof import('cargo-lambda-cdk') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('cargo-lambda-cdk') as typeof import('cargo-lambda-cdk');
  } catch (error) {
    throw new Error(
      'FailureTicketBridge: `fromSource` builds the notifier with cargo-lambda-cdk, which is not installed: ' +
        `npm install --save-dev cargo-lambda-cdk (${(error as Error).message.split('\n')[0]})`,
      { cause: error },
    );
  }
}

/** `idempotency` prop → options, or `undefined` when switched off. */
function idempotencyOptions(value: boolean | IdempotencyOptions | undefined): IdempotencyOptions | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return {};
  return value;
}

function fromPersonEnvironment(person: FromPerson): Record<string, string> {
  if ('uid' in person && person.uid) return { FROM_PERSON_UID: person.uid };
  if ('email' in person && person.email) return { FROM_PERSON_EMAIL: person.email };
  throw new Error('FailureTicketBridge: `fromPerson` needs a non-empty `uid` or `email`');
}
