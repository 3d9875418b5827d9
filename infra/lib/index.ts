export * from './failure-ticket-bridge';
export * from './scoped-http-invoke';
