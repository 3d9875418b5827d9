#!/usr/bin/env node
// The organization example: a hub stack and a spoke stack (infra/README.md,
// "One hub for an organization"). Context flags (`-c key=value`):
//   organizationId=o-...        default o-exampleorg1 (synth only)
//   outsetaDomain=..., outsetaSecretName=..., fromPersonEmail=...   the hub's desk
//   hubBusArn=..., hubNotifierRoleArn=...   the hub stack's outputs, for the spoke
// Environment: TICKET_BRIDGE_SKIP_BUNDLING=1 as in bin/app.ts.
// cdk-nag's AWS Solutions checks run on every synthesis, as for the demo.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TicketBridgeHubStack, TicketBridgeSpokeStack, repositoryManifest } from '../demo/organization-stacks';

const skipBundling = process.env.TICKET_BRIDGE_SKIP_BUNDLING === '1';
const app = new App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});
const context = (key: string, fallback: string): string => (app.node.tryGetContext(key) as string | undefined) ?? fallback;
const organizationId = context('organizationId', 'o-exampleorg1');
new TicketBridgeHubStack(app, 'TicketBridgeHub', {
  organizationId,
  outsetaDomain: context('outsetaDomain', 'example.outseta.com'),
  outsetaSecretName: context('outsetaSecretName', 'ticket-bridge/outseta-auth'),
  fromPersonEmail: context('fromPersonEmail', 'ops@example.com'),
  manifestPath: repositoryManifest(),
});
new TicketBridgeSpokeStack(app, 'TicketBridgeSpoke', {
  organizationId,
  hubBusArn: context('hubBusArn', 'arn:aws:events:eu-west-1:111111111111:event-bus/ticket-bridge-hub'),
  hubNotifierRoleArn: context('hubNotifierRoleArn', 'arn:aws:iam::111111111111:role/TicketBridgeHub-NotifierRole'),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
