// The hub and spoke stacks of an organization-wide bridge, as infra/README.md
// ("One hub for an organization") deploys them: bin/organization.ts
// synthesizes them (test.sh lints their templates), the tests check them.
import * as path from 'node:path';
import { CfnOutput, SecretValue, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { packageRoot } from '../lib/notifier-code';
import { FailureTicketHub, FailureTicketSpoke, FailureTicketSpokeProps } from '../lib/organization';
import { OutsetaCredentials } from '../lib/outseta-connection';

export interface TicketBridgeHubStackProps extends StackProps {
  readonly organizationId: string;
  /** e.g. `acme.outseta.com` */
  readonly outsetaDomain: string;
  /** Secrets Manager secret whose value is `<api key>:<secret key>`. */
  readonly outsetaSecretName: string;
  readonly fromPersonEmail: string;
  readonly accountNames?: Record<string, string>;
  /** Build the notifier from this Cargo workspace. @default the prebuilt zip of the package */
  readonly manifestPath?: string;
}

/** The central account's stack: the hub, and the two ARNs the spokes need as outputs. */
export class TicketBridgeHubStack extends Stack {
  readonly hub: FailureTicketHub;

  constructor(scope: Construct, id: string, props: TicketBridgeHubStackProps) {
    super(scope, id, props);
    this.hub = new FailureTicketHub(this, 'Hub', {
      organizationId: props.organizationId,
      accountNames: props.accountNames,
      ticketApiUrl: `https://${props.outsetaDomain}/api/v1/support/cases`,
      fromPerson: { email: props.fromPersonEmail },
      outseta: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager(props.outsetaSecretName)),
      ...(props.manifestPath ? { fromSource: { manifestPath: props.manifestPath } } : {}),
    });
    new CfnOutput(this, 'HubBusArn', { value: this.hub.bus.eventBusArn, description: 'hubBusArn of the spokes' });
    new CfnOutput(this, 'HubNotifierRoleArn', { value: this.hub.notifierRole.roleArn, description: 'hubNotifierRoleArn of the spokes' });
    new CfnOutput(this, 'NotifierArn', { value: this.hub.notifier.functionArn, description: 'What spoke state machines call from their Catch paths' });
  }
}

/** One account and region's stack (a StackSet instance): the spoke. */
export class TicketBridgeSpokeStack extends Stack {
  readonly spoke: FailureTicketSpoke;

  constructor(scope: Construct, id: string, props: StackProps & FailureTicketSpokeProps) {
    super(scope, id, props);
    this.spoke = new FailureTicketSpoke(this, 'Spoke', props);
  }
}

/** The repository's Cargo workspace, for building the notifier from source. */
export function repositoryManifest(): string {
  return path.join(packageRoot(__dirname), '..', 'Cargo.toml');
}
