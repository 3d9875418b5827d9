#!/usr/bin/env node
// The demo app. Context flags (`-c key=value`):
//   auth=oauth|apikey      oauth (default): mock-auth + mock-api and an OAuth connection;
//                          apikey: an API-key connection to a real Outseta account
//   outsetaDomain=...      apikey only, e.g. acme.outseta.com
//   outsetaSecretName=...  apikey only, secret holding "<api key>:<secret key>"
//   connectionKmsKeyArn=... customer managed key for the connection's secret (default: AWS owned key)
//   fromPersonEmail=... | fromPersonUid=...   who tickets are filed as
//   arch=arm64|x86_64      Lambda architecture (default arm64)
//   alarmEmail=...         subscribe this address to the alarm topic (alarms and undelivered tickets)
//   reservedConcurrency=N|none   notifier reserved concurrency (default 2)
//   stackName=...          default TicketBridgeDemo
// Environment: TICKET_BRIDGE_SKIP_BUNDLING=1 synthesizes without building the
// Rust functions (templates for tests and linting; not deployable).
// cdk-nag's AWS Solutions checks run on every synthesis: a finding nobody
// acknowledged (with a reason, where the resource is made) fails `cdk synth`.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { demoStackPropsFromContext } from '../demo/demo-context';
import { DemoStack } from '../demo/demo-stack';

const skipBundling = process.env.TICKET_BRIDGE_SKIP_BUNDLING === '1';
const app = new App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});
const { stackName, props } = demoStackPropsFromContext((key) => app.node.tryGetContext(key));
new DemoStack(app, stackName, props);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
