export * from './connection-key';
export * from './connection-parameters';
export * from './failure-ticket-bridge';
export * from './organization';
export * from './outseta-connection';
export * from './scoped-http-invoke';
export {
  ALARM_DEFAULTS,
  AlarmSettings,
  BRIDGE_ALARMS,
  BridgeAlarmName,
  BridgeAlarms,
  DASHBOARD_WIDGETS,
  DEFAULT_METRICS_NAMESPACE,
  DashboardOptions,
  DashboardWidget,
  NOTIFIER_COUNT_METRICS,
  NOTIFIER_VALUE_METRICS,
  NotifierCountMetric,
  NotifierValueMetric,
  OUTCOME_DIMENSION,
} from './monitoring';
export { NOTIFIER_ASSETS_CONTEXT, NotifierSource, prebuiltNotifierCode } from './notifier-code';
