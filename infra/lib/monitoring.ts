// The bridge's alarms and dashboard: their props, their validation, and the
// notifier's CloudWatch metrics (EMF, DESIGN.md "Metrics").
import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The notifier's default metrics namespace (`METRICS_NAMESPACE`). */
export const DEFAULT_METRICS_NAMESPACE = 'TicketBridge';

/**
 * The counts the notifier emits, one EMF document per invocation, with the
 * single dimension `Outcome` (DESIGN.md, "Metrics").
 */
export const NOTIFIER_COUNT_METRICS = [
  'CasesFiled',
  'RepliesPosted',
  'RepliesCoalesced',
  'Duplicates',
  'Muted',
  'FallbackPublished',
  'NotDelivered',
  'HistoryUnavailable',
] as const;
export type NotifierCountMetric = (typeof NOTIFIER_COUNT_METRICS)[number];

/** The values the notifier emits: delivery time in milliseconds, and attempts per delivery. */
export const NOTIFIER_VALUE_METRICS = ['DeliveryMs', 'Attempts'] as const;
export type NotifierValueMetric = (typeof NOTIFIER_VALUE_METRICS)[number];

/** The notifier's only metric dimension. */
export const OUTCOME_DIMENSION = 'Outcome';

/**
 * Throws unless `namespace` is one CloudWatch accepts for custom metrics:
 * 1 to 255 characters from `0-9A-Za-z . - _ / # :` and space, at least one
 * that is not a space, not starting with `:` (the PutMetricData API pattern
 * `[^:].*`), and not in the reserved `AWS/` namespaces. Tokens are not checked.
 */
export function validateMetricsNamespace(namespace: string): void {
  if (Token.isUnresolved(namespace)) return;
  const fail = (why: string) => {
    throw new Error(`FailureTicketBridge: \`metricsNamespace\` ${why}, got ${JSON.stringify(namespace)}`);
  };
  if (namespace.length < 1 || namespace.length > 255) fail('must be 1 to 255 characters long');
  const bad = [...namespace].filter((c) => !/[0-9A-Za-z.\-_/#: ]/.test(c));
  if (bad.length > 0) fail(`may hold only letters, digits, space and . - _ / # : (not ${JSON.stringify([...new Set(bad)].join(''))})`);
  if (namespace.trim() === '') fail('must hold a character other than space');
  if (namespace.startsWith(':')) fail('must not start with ":"');
  if (/^AWS\//i.test(namespace)) fail('must not be in the AWS/ namespaces, which are reserved for AWS services');
}

/** A query over every `Outcome` of one count, summed: Metrics Insights, so no outcome value has to be known. */
export function countMetric(namespace: string, name: NotifierCountMetric, period: Duration, label?: string): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `SELECT SUM(${name}) FROM SCHEMA("${namespace}", ${OUTCOME_DIMENSION})`,
    period,
    label: label ?? name,
  });
}

/** One line per `Outcome` of a value metric at a statistic (percentiles do not add up across outcomes). */
export function valueMetricByOutcome(namespace: string, name: NotifierValueMetric, statistic: string, period: Duration): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{"${namespace}",${OUTCOME_DIMENSION}} MetricName="${name}"', '${statistic}', ${period.toSeconds()})`,
    period,
    label: `${statistic} `,
  });
}

/** The settings of one alarm. */
export interface AlarmSettings {
  /**
   * The value at or above which the alarm fires, in the metric's unit
   * (a count; seconds for `deadLetterAge`).
   * @default per alarm, see {@link BridgeAlarms}
   */
  readonly threshold?: number;

  /**
   * How many periods in a row must reach the threshold.
   * @default per alarm, see {@link BridgeAlarms} (1 for all but `throttles`)
   */
  readonly evaluationPeriods?: number;

  /**
   * The period each data point covers: whole minutes.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/**
 * The bridge's alarms. All go to the alarm topic; each can be switched off
 * with `false` or re-thresholded with {@link AlarmSettings}.
 */
export interface BridgeAlarms {
  /**
   * The notifier's Lambda `Errors`: an invocation ended in a typed error, so a
   * failure may have gone without a ticket.
   * @default { threshold: 1 } in 5 minutes
   */
  readonly errors?: AlarmSettings | false;

  /**
   * The notifier's Lambda `Throttles`. A burst of failures throttles against
   * the reserved concurrency and is retried (the Catch path retries
   * `Lambda.TooManyRequestsException`, asynchronous events are retried for
   * hours), so one throttled period is not worth a page; throttling in 3
   * periods in a row says the reserved concurrency is too small.
   * @default { threshold: 1, evaluationPeriods: 3 }: throttled in each of 3 five-minute periods
   */
  readonly throttles?: AlarmSettings | false;

  /**
   * `FallbackPublished` (metric): a ticket went to the fallback topic because
   * the support desk did not take it. Only with a fallback topic.
   * @default { threshold: 1 } in 5 minutes, when there is a fallback topic
   */
  readonly fallbackPublished?: AlarmSettings | false;

  /**
   * `NotDelivered` (metric): a ticket could not be delivered (with or without
   * a fallback).
   * @default { threshold: 1 } in 5 minutes
   */
  readonly notDelivered?: AlarmSettings | false;

  /**
   * The dead-letter queue holds events (`ApproximateNumberOfMessagesVisible`):
   * failures nobody filed a ticket for.
   * @default { threshold: 1 } in 5 minutes
   */
  readonly deadLetters?: AlarmSettings | false;

  /**
   * The oldest event in the dead-letter queue (`ApproximateAgeOfOldestMessage`,
   * seconds) is older than the threshold: nobody has looked at it. The queue
   * keeps events 14 days.
   * @default { threshold: 86400 }: one day
   */
  readonly deadLetterAge?: AlarmSettings | false;
}

/** The names of {@link BridgeAlarms}, in the order the bridge creates them. */
export const BRIDGE_ALARMS = ['errors', 'throttles', 'fallbackPublished', 'notDelivered', 'deadLetters', 'deadLetterAge'] as const;
export type BridgeAlarmName = (typeof BRIDGE_ALARMS)[number];

const ALARM_SETTINGS = ['threshold', 'evaluationPeriods', 'period'] as const;

/** Defaults of each alarm, see {@link BridgeAlarms}. */
export const ALARM_DEFAULTS: Record<BridgeAlarmName, { threshold: number; evaluationPeriods: number }> = {
  errors: { threshold: 1, evaluationPeriods: 1 },
  throttles: { threshold: 1, evaluationPeriods: 3 },
  fallbackPublished: { threshold: 1, evaluationPeriods: 1 },
  notDelivered: { threshold: 1, evaluationPeriods: 1 },
  deadLetters: { threshold: 1, evaluationPeriods: 1 },
  deadLetterAge: { threshold: Duration.days(1).toSeconds(), evaluationPeriods: 1 },
};

/** An alarm's settings after defaults and checks; undefined when switched off. */
export interface ResolvedAlarm {
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly period: Duration;
  /** Whether the user configured it (not just the default). */
  readonly explicit: boolean;
}

/** `alarms` prop → each alarm's settings; throws naming an unknown or invalid prop. */
export function resolveAlarms(alarms: BridgeAlarms | undefined): Record<BridgeAlarmName, ResolvedAlarm | undefined> {
  const given = (alarms ?? {}) as Record<string, unknown>;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new Error(`FailureTicketBridge: \`alarms\` must be an object with any of ${BRIDGE_ALARMS.join(', ')}`);
  }
  for (const key of Object.keys(given)) {
    if (!(BRIDGE_ALARMS as readonly string[]).includes(key)) {
      throw new Error(`FailureTicketBridge: unknown alarm \`alarms.${key}\`; the alarms are ${BRIDGE_ALARMS.join(', ')}`);
    }
  }
  const result = {} as Record<BridgeAlarmName, ResolvedAlarm | undefined>;
  for (const name of BRIDGE_ALARMS) {
    const value = given[name];
    if (value === false) {
      result[name] = undefined;
      continue;
    }
    const where = `alarms.${name}`;
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new Error(`FailureTicketBridge: \`${where}\` must be false or { threshold?, evaluationPeriods?, period? }, got ${JSON.stringify(value)}`);
    }
    const settings = (value ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(settings)) {
      if (!(ALARM_SETTINGS as readonly string[]).includes(key)) {
        throw new Error(`FailureTicketBridge: unknown alarm setting \`${where}.${key}\`; an alarm takes ${ALARM_SETTINGS.join(', ')}`);
      }
    }
    const { threshold = ALARM_DEFAULTS[name].threshold, evaluationPeriods = ALARM_DEFAULTS[name].evaluationPeriods, period = Duration.minutes(5) } =
      settings as AlarmSettings;
    if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0) {
      throw new Error(`FailureTicketBridge: \`${where}.threshold\` must be a number, 0 or more, got ${JSON.stringify(threshold)}`);
    }
    if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1) {
      throw new Error(`FailureTicketBridge: \`${where}.evaluationPeriods\` must be a whole number, at least 1, got ${JSON.stringify(evaluationPeriods)}`);
    }
    if (!(period instanceof Duration)) throw new Error(`FailureTicketBridge: \`${where}.period\` must be a Duration`);
    const minutes = period.toSeconds({ integral: false }) / 60;
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(`FailureTicketBridge: \`${where}.period\` must be a whole number of minutes, at least 1, got ${period.toHumanString()}`);
    }
    // CloudWatch evaluates at most one day of data points per alarm.
    if (minutes * evaluationPeriods > 24 * 60) {
      throw new Error(`FailureTicketBridge: \`${where}\`: period × evaluationPeriods must be at most one day, got ${minutes * evaluationPeriods} minutes`);
    }
    result[name] = { threshold, evaluationPeriods, period, explicit: value !== undefined };
  }
  return result;
}

/** The graphs of the dashboard. */
export const DASHBOARD_WIDGETS = ['cases', 'replies', 'duplicates', 'fallbacks', 'latency', 'throttles'] as const;
export type DashboardWidget = (typeof DASHBOARD_WIDGETS)[number];

/** The dashboard's settings. */
export interface DashboardOptions {
  /**
   * The dashboard's name.
   * @default a name CloudFormation generates
   */
  readonly dashboardName?: string;

  /**
   * The graphs, in order: `cases` (CasesFiled), `replies` (RepliesPosted,
   * RepliesCoalesced), `duplicates` (Duplicates, Muted), `fallbacks`
   * (FallbackPublished, NotDelivered), `latency` (DeliveryMs p50 and p99 per
   * outcome), `throttles` (the notifier's Lambda Throttles and concurrency).
   * @default all of DASHBOARD_WIDGETS
   */
  readonly widgets?: DashboardWidget[];

  /**
   * The period of each data point.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

const DASHBOARD_SETTINGS = ['dashboardName', 'widgets', 'period'] as const;

/** `dashboard` prop → options, or undefined for none; throws naming an unknown or invalid prop. */
export function resolveDashboard(dashboard: boolean | DashboardOptions | undefined): Required<Omit<DashboardOptions, 'dashboardName'>> & { dashboardName?: string } | undefined {
  if (dashboard === undefined || dashboard === false) return undefined;
  const options: Record<string, unknown> = dashboard === true ? {} : (dashboard as unknown as Record<string, unknown>);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error('FailureTicketBridge: `dashboard` must be true, false or { dashboardName?, widgets?, period? }');
  }
  for (const key of Object.keys(options)) {
    if (!(DASHBOARD_SETTINGS as readonly string[]).includes(key)) {
      throw new Error(`FailureTicketBridge: unknown dashboard setting \`dashboard.${key}\`; the dashboard takes ${DASHBOARD_SETTINGS.join(', ')}`);
    }
  }
  const { widgets = [...DASHBOARD_WIDGETS], period = Duration.minutes(5), dashboardName } = options as DashboardOptions;
  if (!Array.isArray(widgets) || widgets.length === 0) {
    throw new Error(`FailureTicketBridge: \`dashboard.widgets\` is empty: a dashboard without metrics; name some of ${DASHBOARD_WIDGETS.join(', ')}, or leave \`dashboard\` off`);
  }
  const unknown = widgets.filter((w) => !(DASHBOARD_WIDGETS as readonly string[]).includes(w));
  if (unknown.length > 0) {
    throw new Error(`FailureTicketBridge: \`dashboard.widgets\` has unknown ${unknown.map((w) => JSON.stringify(w)).join(', ')}; the graphs are ${DASHBOARD_WIDGETS.join(', ')}`);
  }
  const minutes = period.toSeconds({ integral: false }) / 60;
  if (!Number.isInteger(minutes) || minutes < 1) {
    throw new Error(`FailureTicketBridge: \`dashboard.period\` must be a whole number of minutes, at least 1, got ${period.toHumanString()}`);
  }
  if (dashboardName !== undefined && !Token.isUnresolved(dashboardName) && !/^[A-Za-z0-9_-]{1,255}$/.test(dashboardName)) {
    throw new Error(`FailureTicketBridge: \`dashboard.dashboardName\` may hold only letters, digits, - and _ (1 to 255), got ${JSON.stringify(dashboardName)}`);
  }
  return { widgets: [...new Set(widgets)], period, dashboardName };
}
