export * from './connection-key';
export * from './connection-parameters';
export * from './failure-ticket-bridge';
export * from './outseta-connection';
export * from './scoped-http-invoke';
