// Demo-only step of the demo state machine: fails when its input asks for it,
// so the catch chain and the ticket can be seen end to end.
//
// Input contract (the execution input, plus what earlier states added):
//   { "fail": true, "message": "why", "errorType": "DemoStepFailed" }
// `fail` true: throws an error named `errorType` (default "DemoStepFailed")
// with `message` (default "Failure requested by the execution input").
// Otherwise: returns { "ok": true }.
//
// The local Step Functions run (test/local-sfn/run.mjs) calls this same handler.
'use strict';

exports.handler = async (event) => {
  const input = event && typeof event === 'object' ? event : {};
  if (input.fail === true) {
    const error = new Error(
      typeof input.message === 'string' && input.message ? input.message : 'Failure requested by the execution input',
    );
    error.name = typeof input.errorType === 'string' && input.errorType ? input.errorType : 'DemoStepFailed';
    throw error;
  }
  return { ok: true };
};
