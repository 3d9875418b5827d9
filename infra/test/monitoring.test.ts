// Operating the bridge: its metrics namespace, alarms, dashboard, tracing,
// memory and log group.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Duration, SecretValue, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { BRIDGE_ALARMS, DASHBOARD_WIDGETS, FailureTicketBridge, FailureTicketBridgeProps, NOTIFIER_COUNT_METRICS, OutsetaCredentials } from '../lib';
import { validateMetricsNamespace } from '../lib/monitoring';
import { serviceModel } from './api-model';
import { CfnTemplate, allStatements, asList, offlineApp, onlyResourceOfType, resourcesOfType, templateOf } from './support';

function bridgeStack(props: Partial<FailureTicketBridgeProps> = {}) {
  const stack = new Stack(offlineApp(), 'Consumer');
  const bridge = new FailureTicketBridge(stack, 'Bridge', {
    ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
    fromPerson: { uid: 'u' },
    outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
    ...props,
  });
  return { stack, bridge, ...templateOf(stack) };
}

function notifierOf(json: CfnTemplate) {
  const [found] = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Environment?.Variables?.TICKET_API_URL);
  return found;
}

/** Alarms by the metric (or query) they watch. */
function alarmsOf(json: CfnTemplate): Record<string, any> {
  return Object.fromEntries(
    resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => {
      const p = alarm.Properties!;
      const what = p.MetricName ?? p.Metrics?.[0]?.Expression;
      return [what, { id, ...p }];
    }),
  );
}

describe('metrics namespace', () => {
  test('is always set on the notifier, TicketBridge by default', () => {
    assert.equal(notifierOf(bridgeStack().json)[1].Properties!.Environment.Variables.METRICS_NAMESPACE, 'TicketBridge');
    assert.equal(notifierOf(bridgeStack({ metricsNamespace: 'Acme/Tickets' }).json)[1].Properties!.Environment.Variables.METRICS_NAMESPACE, 'Acme/Tickets');
  });

  test('is checked as CloudWatch checks it', () => {
    for (const ok of ['TicketBridge', 'Acme/Ticket Bridge', 'a.b-c_d#e:f', 'x'.repeat(255)]) validateMetricsNamespace(ok);
    const refused: [string, RegExp][] = [
      ['', /1 to 255 characters/],
      ['x'.repeat(256), /1 to 255 characters/],
      ['Tickets!', /only letters, digits, space and \. - _ \/ # : \(not "!"\)/],
      ['Tické', /not "é"/],
      ['   ', /other than space/],
      [':Tickets', /must not start with ":"/],
      ['AWS/Lambda', /reserved for AWS services/],
    ];
    for (const [namespace, why] of refused) {
      assert.throws(() => bridgeStack({ metricsNamespace: namespace }), why, JSON.stringify(namespace));
      assert.throws(() => bridgeStack({ metricsNamespace: namespace }), /`metricsNamespace`/);
    }
  });

  test("agrees with CloudWatch's API model on length and the leading colon", () => {
    const shape = serviceModel('cloudwatch').shapes.Namespace as { min: number; max: number; pattern: string };
    assert.deepEqual([shape.min, shape.max, shape.pattern], [1, 255, '[^:].*']);
  });

  test('cannot be set behind the alarms\' back through `environment`', () => {
    assert.throws(() => bridgeStack({ environment: { METRICS_NAMESPACE: 'Other' } }), /set `metricsNamespace` instead of `environment.METRICS_NAMESPACE`/);
  });
});

describe('alarms', () => {
  test('six by default, each at its threshold and into the alarm topic', () => {
    const { json, bridge } = bridgeStack();
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    const alarms = alarmsOf(json);
    assert.equal(Object.keys(alarms).length, 6);
    assert.deepEqual(Object.keys(bridge.alarms).sort(), [...BRIDGE_ALARMS].sort());
    for (const alarm of Object.values(alarms)) {
      assert.deepEqual(alarm.AlarmActions, [{ Ref: topicId }], alarm.id);
      assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(alarm.TreatMissingData, 'notBreaching');
    }
    const [notifierId] = notifierOf(json);
    assert.deepEqual(
      [alarms.Errors.Threshold, alarms.Errors.EvaluationPeriods, alarms.Errors.Statistic, alarms.Errors.Period],
      [1, 1, 'Sum', 300],
    );
    assert.deepEqual(alarms.Errors.Dimensions, [{ Name: 'FunctionName', Value: { Ref: notifierId } }]);
    assert.deepEqual([alarms.Throttles.Threshold, alarms.Throttles.EvaluationPeriods, alarms.Throttles.Namespace], [1, 3, 'AWS/Lambda']);
    const dlq = alarms.ApproximateNumberOfMessagesVisible;
    assert.deepEqual([dlq.Threshold, dlq.Namespace, dlq.Statistic], [1, 'AWS/SQS', 'Maximum']);
    const age = alarms.ApproximateAgeOfOldestMessage;
    assert.deepEqual([age.Threshold, age.Namespace, age.Statistic], [86400, 'AWS/SQS', 'Maximum']);
    const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');
    assert.deepEqual(age.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  });

  test('on the notifier\'s metrics: every Outcome summed by a Metrics Insights query in its namespace', () => {
    const alarms = alarmsOf(bridgeStack({ metricsNamespace: 'Acme/Tickets' }).json);
    for (const name of ['FallbackPublished', 'NotDelivered']) {
      const alarm = alarms[`SELECT SUM(${name}) FROM SCHEMA("Acme/Tickets", Outcome)`];
      assert.ok(alarm, name);
      assert.equal(alarm.Threshold, 1);
      assert.equal(alarm.EvaluationPeriods, 1);
      assert.deepEqual(alarm.Metrics, [{ Expression: `SELECT SUM(${name}) FROM SCHEMA("Acme/Tickets", Outcome)`, Id: 'expr_1', Label: name, Period: 300, ReturnData: true }]);
    }
  });

  test('each can be switched off or re-thresholded', () => {
    const { json, bridge } = bridgeStack({
      alarms: { throttles: false, deadLetterAge: { threshold: 3600 }, errors: { threshold: 3, evaluationPeriods: 2, period: Duration.minutes(1) } },
    });
    const alarms = alarmsOf(json);
    assert.equal(alarms.Throttles, undefined);
    assert.equal(bridge.alarms.throttles, undefined);
    assert.equal(alarms.ApproximateAgeOfOldestMessage.Threshold, 3600);
    assert.deepEqual([alarms.Errors.Threshold, alarms.Errors.EvaluationPeriods, alarms.Errors.Period], [3, 2, 60]);
    assert.equal(bridge.errorsAlarm, bridge.alarms.errors);
    const none = bridgeStack({ alarms: Object.fromEntries(BRIDGE_ALARMS.map((name) => [name, false])) });
    assert.equal(resourcesOfType(none.json, 'AWS::CloudWatch::Alarm').length, 0);
    assert.equal(none.bridge.errorsAlarm, undefined);
  });

  test('an unknown alarm or setting fails synthesis naming it', () => {
    assert.throws(() => bridgeStack({ alarms: { erors: false } as any }), /unknown alarm `alarms\.erors`; the alarms are errors, throttles, fallbackPublished, notDelivered, deadLetters, deadLetterAge/);
    assert.throws(() => bridgeStack({ alarms: { errors: { treshold: 2 } } as any }), /unknown alarm setting `alarms\.errors\.treshold`/);
    assert.throws(() => bridgeStack({ alarms: { errors: true } as any }), /`alarms\.errors` must be false or \{ threshold\?, evaluationPeriods\?, period\? \}/);
    assert.throws(() => bridgeStack({ alarms: { errors: { threshold: -1 } } }), /`alarms\.errors\.threshold` must be a number, 0 or more/);
    assert.throws(() => bridgeStack({ alarms: { throttles: { evaluationPeriods: 0 } } }), /`alarms\.throttles\.evaluationPeriods` must be a whole number/);
    assert.throws(() => bridgeStack({ alarms: { notDelivered: { period: Duration.seconds(90) } } }), /`alarms\.notDelivered\.period` must be a whole number of minutes/);
  });

  test('no fallback topic, no fallback alarm; asking for one fails', () => {
    const alarms = alarmsOf(bridgeStack({ fallbackTopic: false }).json);
    assert.equal(alarms['SELECT SUM(FallbackPublished) FROM SCHEMA("TicketBridge", Outcome)'], undefined);
    assert.ok(alarms['SELECT SUM(NotDelivered) FROM SCHEMA("TicketBridge", Outcome)']);
    assert.throws(() => bridgeStack({ fallbackTopic: false, alarms: { fallbackPublished: { threshold: 2 } } }), /`alarms\.fallbackPublished` watches the fallback topic, and `fallbackTopic` is false/);
  });

  test('metricCount() gives the same query for alarms of your own', () => {
    const { bridge, stack } = bridgeStack({ metricsNamespace: 'Ops' });
    const metric = bridge.metricCount('CasesFiled', Duration.hours(1));
    const config = metric.toMetricConfig();
    assert.equal(config.mathExpression?.expression, 'SELECT SUM(CasesFiled) FROM SCHEMA("Ops", Outcome)');
    assert.equal(config.mathExpression?.period, 3600);
    assert.ok(stack);
  });
});

describe('dashboard', () => {
  test('off by default', () => {
    assert.equal(resourcesOfType(bridgeStack().json, 'AWS::CloudWatch::Dashboard').length, 0);
  });

  test('`true`: cases, replies, duplicates, fallbacks, latency p50/p99 and throttles', () => {
    const { json, bridge } = bridgeStack({ dashboard: true, metricsNamespace: 'Acme/Tickets' });
    const [, dashboard] = onlyResourceOfType(json, 'AWS::CloudWatch::Dashboard');
    assert.ok(bridge.dashboard);
    const body = JSON.parse(resolveJoin(dashboard.Properties!.DashboardBody));
    const titles = body.widgets.map((w: any) => w.properties.title);
    assert.deepEqual(titles, [
      'Cases filed',
      'Replies (posted, coalesced into a later reply)',
      'Not filed on purpose (duplicates, muted incidents)',
      'Not delivered (and published to the fallback topic)',
      'Delivery time p50 / p99 by outcome (ms)',
      'Notifier throttles and concurrency',
    ]);
    const expressions = body.widgets.flatMap((w: any) => w.properties.metrics.map((m: any[]) => m.find((x) => x && typeof x === 'object' && 'expression' in x)?.expression).filter(Boolean));
    for (const name of ['CasesFiled', 'RepliesPosted', 'RepliesCoalesced', 'Duplicates', 'Muted', 'FallbackPublished', 'NotDelivered']) {
      assert.ok(expressions.includes(`SELECT SUM(${name}) FROM SCHEMA("Acme/Tickets", Outcome)`), name);
    }
    for (const stat of ['p50', 'p99']) {
      assert.ok(expressions.includes(`SEARCH('{"Acme/Tickets",Outcome} MetricName="DeliveryMs"', '${stat}', 300)`), stat);
    }
    const throttles = body.widgets[5].properties.metrics;
    assert.ok(throttles.some((m: any[]) => m.includes('AWS/Lambda') && m.includes('Throttles')));
    for (const name of NOTIFIER_COUNT_METRICS.filter((n) => n !== 'HistoryUnavailable')) assert.ok(JSON.stringify(body).includes(name));
  });

  test('some graphs, a name and a period', () => {
    const { json } = bridgeStack({ dashboard: { widgets: ['latency', 'cases'], dashboardName: 'ticket-bridge', period: Duration.hours(1) } });
    const [, dashboard] = onlyResourceOfType(json, 'AWS::CloudWatch::Dashboard');
    assert.equal(dashboard.Properties!.DashboardName, 'ticket-bridge');
    const body = JSON.parse(resolveJoin(dashboard.Properties!.DashboardBody));
    assert.deepEqual(body.widgets.map((w: any) => w.properties.title), ['Delivery time p50 / p99 by outcome (ms)', 'Cases filed']);
    assert.match(JSON.stringify(body), /'p99', 3600\)/);
  });

  test('without metrics, or with an unknown graph or setting: synthesis fails naming the prop', () => {
    assert.throws(() => bridgeStack({ dashboard: { widgets: [] } }), /`dashboard\.widgets` is empty: a dashboard without metrics; name some of cases, replies, duplicates, fallbacks, latency, throttles/);
    assert.throws(() => bridgeStack({ dashboard: { widgets: ['cases', 'errors'] as any } }), /`dashboard\.widgets` has unknown "errors"/);
    assert.throws(() => bridgeStack({ dashboard: { title: 'x' } as any }), /unknown dashboard setting `dashboard\.title`/);
    assert.throws(() => bridgeStack({ dashboard: { dashboardName: 'no spaces allowed' } }), /`dashboard\.dashboardName` may hold only/);
    assert.deepEqual([...DASHBOARD_WIDGETS], ['cases', 'replies', 'duplicates', 'fallbacks', 'latency', 'throttles']);
  });
});

describe('tracing, memory, log group', () => {
  test('tracing: X-Ray active, and the role may write trace segments', () => {
    const off = notifierOf(bridgeStack().json)[1];
    assert.equal(off.Properties!.TracingConfig, undefined);
    const { json } = bridgeStack({ tracing: true });
    const [, notifier] = notifierOf(json);
    assert.deepEqual(notifier.Properties!.TracingConfig, { Mode: 'Active' });
    const xray = allStatements(json).filter(({ statement }) => asList<string>(statement.Action).some((a) => a.startsWith('xray:')));
    assert.equal(xray.length, 1);
    assert.deepEqual(asList(xray[0].statement.Action).sort(), ['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });

  test('memorySize: 256 MB by default, as given, checked', () => {
    assert.equal(notifierOf(bridgeStack().json)[1].Properties!.MemorySize, 256);
    assert.equal(notifierOf(bridgeStack({ memorySize: 512 }).json)[1].Properties!.MemorySize, 512);
    for (const bad of [64, 10241, 200.5]) assert.throws(() => bridgeStack({ memorySize: bad }), /`memorySize` must be a whole number of MB from 128 to 10240/);
  });

  test('its own log group, which is all its role may write to (no AWS managed policy)', () => {
    const { json } = bridgeStack();
    const [logGroupId] = onlyResourceOfType(json, 'AWS::Logs::LogGroup');
    const [, notifier] = notifierOf(json);
    const roleId = notifier.Properties!.Role['Fn::GetAtt'][0];
    assert.equal(json.Resources[roleId].Properties!.ManagedPolicyArns, undefined);
    const logStatements = allStatements(json).filter(({ statement }) => asList<string>(statement.Action).some((a) => a.startsWith('logs:')));
    assert.deepEqual(
      logStatements.map(({ statement }) => [asList(statement.Action).sort(), statement.Resource]),
      [[['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::GetAtt': [logGroupId, 'Arn'] }]],
    );
  });

  test('an existing log group instead: none created, the notifier logs and may write there only', () => {
    const stack = new Stack(offlineApp(), 'Consumer');
    const existing = logs.LogGroup.fromLogGroupName(stack, 'Existing', '/acme/ticket-bridge');
    new FailureTicketBridge(stack, 'Bridge', {
      ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
      fromPerson: { uid: 'u' },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
      logGroup: existing,
    });
    const { json } = templateOf(stack);
    assert.equal(resourcesOfType(json, 'AWS::Logs::LogGroup').length, 0);
    const [, notifier] = notifierOf(json);
    assert.deepEqual(notifier.Properties!.LoggingConfig, { LogFormat: 'JSON', LogGroup: '/acme/ticket-bridge' });
    const [write] = allStatements(json).filter(({ statement }) => asList<string>(statement.Action).includes('logs:PutLogEvents'));
    assert.match(JSON.stringify(write.statement.Resource), /log-group:\/acme\/ticket-bridge:\*/);
    assert.throws(
      () =>
        new FailureTicketBridge(new Stack(offlineApp(), 'Other'), 'Bridge', {
          ticketApiUrl: 'https://acme.outseta.com/api/v1/support/cases',
          fromPerson: { uid: 'u' },
          outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager('outseta')),
          logGroup: existing,
          logRetention: logs.RetentionDays.ONE_DAY,
        }),
      /`logRetention` applies to the log group the bridge creates/,
    );
  });
});

/** A dashboard body is an Fn::Join of strings and references: join it, references as placeholders. */
function resolveJoin(value: any): string {
  if (typeof value === 'string') return value;
  const [delimiter, parts] = value['Fn::Join'];
  return parts.map((p: any) => (typeof p === 'string' ? p : JSON.stringify(p).replace(/"/g, "'"))).join(delimiter);
}
