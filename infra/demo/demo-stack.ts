import * as fs from 'node:fs';
import * as path from 'node:path';
import { CfnOutput, Duration, SecretValue, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { cfnConnectionOf } from '../lib/connection-parameters';
import { FailureTicketBridge, FromPerson } from '../lib/failure-ticket-bridge';
import { acknowledge, acknowledgeWildcardResource } from '../lib/nag';
import { packageRoot } from '../lib/notifier-code';
import { OutsetaConnection, OutsetaCredentials } from '../lib/outseta-connection';
import { ScopedHttpInvoke, ScopedHttpInvokeProps, stateMachineArnFromName } from '../lib/scoped-http-invoke';

/** How the demo authenticates: against the mock pair, or a real Outseta account. */
export type DemoAuth =
  | { readonly kind: 'oauth' }
  | {
      readonly kind: 'apikey';
      /** e.g. `acme.outseta.com` */
      readonly outsetaDomain: string;
      /** Secrets Manager secret whose value is `<api key>:<secret key>` (no `Outseta ` scheme). */
      readonly apiKeySecretName: string;
    };

export interface DemoStackProps extends StackProps {
  readonly auth: DemoAuth;
  readonly fromPerson: FromPerson;
  /** @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  readonly alarmEmail?: string;
  /** Passed to the bridge; `null` reserves none. */
  readonly reservedConcurrency?: number | null;
  /**
   * Workspace manifest of the Rust functions: the demo builds all three from
   * source (the notifier with the bridge's `fromSource`), so a deploy runs
   * what this checkout holds. @default the repository's Cargo.toml
   */
  readonly manifestPath?: string;
  /**
   * ARN of a customer managed key for the connection's secret (tagged
   * `EventBridgeApiDestinations=true`, see infra/README.md); the notifier and the
   * state machine get `kms:Decrypt` on it for that secret.
   * @default EventBridge's AWS owned key
   */
  readonly connectionKeyArn?: string;
}

/** Client id the mock token endpoint accepts; an identifier, not a secret. */
export const DEMO_CLIENT_ID = 'ticket-bridge-demo';

/** The demo state names, used by tests and the local run. */
export const DEMO_STATES = { callApi: 'CallApi', runStep: 'RunStep', done: 'Done' } as const;

/**
 * The whole pattern in one stack: an HTTP task that authenticates through an
 * EventBridge connection, a step that fails on demand, every task's failure
 * caught into a ticket, and the machine watched for failures nobody caught.
 */
export class DemoStack extends Stack {
  readonly bridge: FailureTicketBridge;
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DemoStackProps) {
    super(scope, id, props);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    // The package root is infra/, from dist/demo (compiled) and demo/ (ts-node) alike.
    const manifestPath = props.manifestPath ?? path.join(packageRoot(__dirname), '..', 'Cargo.toml');
    const connectionKey = props.connectionKeyArn ? kms.Key.fromKeyArn(this, 'ConnectionKey', props.connectionKeyArn) : undefined;

    let connection: events.IConnection;
    let apiCall: Pick<ScopedHttpInvokeProps, 'method' | 'endpoint' | 'requestBody'>;
    let ticketApiUrl: string;
    if (props.auth.kind === 'oauth') {
      const mocks = this.mockPair(architecture, manifestPath, connectionKey);
      connection = mocks.connection;
      // mock-api echoes what it receives at this endpoint.
      apiCall = {
        method: 'POST',
        endpoint: `${mocks.apiUrl}api/v1/data`,
        requestBody: { 'execution.$': '$$.Execution.Id', note: 'called through the EventBridge connection' },
      };
      ticketApiUrl = `${mocks.apiUrl}api/v1/support/cases`;
    } else {
      const base = `https://${props.auth.outsetaDomain}/api/v1`;
      connection = new OutsetaConnection(this, 'OutsetaConnection', {
        description: 'Outseta API key; the value lives in Secrets Manager only',
        // A dynamic reference: CloudFormation resolves it at deploy time.
        credentials: OutsetaCredentials.fromKeySecret(SecretValue.secretsManager(props.auth.apiKeySecretName)),
        kmsKey: connectionKey,
      });
      // A read, so running the demo creates no case of its own.
      apiCall = { method: 'GET', endpoint: `${base}/support/cases` };
      ticketApiUrl = `${base}/support/cases`;
    }

    this.bridge = new FailureTicketBridge(this, 'Bridge', {
      ticketApiUrl,
      fromPerson: props.fromPerson,
      connection,
      architecture,
      fromSource: { manifestPath },
      alarmEmail: props.alarmEmail,
      reservedConcurrency: props.reservedConcurrency,
    });

    const callApi = new ScopedHttpInvoke(this, DEMO_STATES.callApi, {
      comment: 'Calls the API through the connection; Step Functions adds the credentials',
      connection,
      ...apiCall,
      resultSelector: { 'status.$': '$.StatusCode', 'body.$': '$.ResponseBody' },
      resultPath: '$.api',
    });
    // As in the OAuth sample: a 401 means the cached token went stale; the
    // connection fetches a new one on the next attempt.
    callApi.addRetry({ errors: ['States.Http.StatusCode.401'], interval: Duration.seconds(2), maxAttempts: 2 });

    const stepLogs = new logs.LogGroup(this, 'DemoStepLogs', { retention: logs.RetentionDays.ONE_WEEK });
    const stepFunction = new lambda.Function(this, 'DemoStep', {
      description: 'Demo step that fails when the execution input has "fail": true',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture,
      handler: 'index.handler',
      code: lambda.Code.fromInline(fs.readFileSync(path.join(packageRoot(__dirname), 'lambda', 'demo-step', 'index.js'), 'utf8')),
      timeout: Duration.seconds(10),
      logGroup: stepLogs,
      role: logOnlyRole(this, 'DemoStepRole', stepLogs),
    });
    const runStep = new tasks.LambdaInvoke(this, DEMO_STATES.runStep, {
      comment: 'Fails on demand: {"fail": true, "message": "..."}',
      lambdaFunction: stepFunction,
      payloadResponseOnly: true,
      resultPath: '$.step',
    });

    this.bridge.catchFailures([callApi, runStep]);

    const stateMachineName = `${this.stackName}-demo`;
    this.stateMachine = new sfn.StateMachine(this, 'DemoStateMachine', {
      stateMachineName,
      definitionBody: sfn.DefinitionBody.fromChainable(
        callApi.next(runStep).next(new sfn.Succeed(this, DEMO_STATES.done)),
      ),
      timeout: Duration.minutes(10),
      // Every state transition in the log, without the data: inputs and
      // results (the HTTP task's response) stay in the execution history.
      logs: {
        destination: new logs.LogGroup(this, 'DemoStateMachineLogs', { retention: logs.RetentionDays.ONE_WEEK }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
      tracingEnabled: true,
    });
    acknowledgeWildcardResource(
      this.stateMachine.role,
      `${stepFunction.functionArn}:*`,
      'The RunStep task may invoke the demo step function and its versions and aliases ("<function ARN>:*", how CDK grants a Lambda task); no other function.',
    );
    acknowledge(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions logging and X-Ray tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, logs:PutResourcePolicy, ...) ' +
        'and xray:PutTraceSegments / PutTelemetryRecords / GetSampling* support no resource-level permissions, so they are granted on "*".',
    );
    // The role's policy names the machine by its fixed name: no role/machine cycle.
    callApi.grantInvoke(this.stateMachine, stateMachineArnFromName(this, stateMachineName));

    this.bridge.watch(this.stateMachine);

    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ConnectionArn', { value: connection.connectionArn });
    // Alarms, and tickets the notifier could not deliver.
    new CfnOutput(this, 'AlarmTopicArn', { value: this.bridge.alarmTopic.topicArn });
    if (this.bridge.idempotencyTable) {
      new CfnOutput(this, 'IdempotencyTableName', { value: this.bridge.idempotencyTable.tableName });
    }
  }

  /** The mock token endpoint and API behind Function URLs, and an OAuth connection against them. */
  private mockPair(architecture: lambda.Architecture, manifestPath: string, connectionKey?: kms.IKey) {
    const clientSecret = new secretsmanager.Secret(this, 'MockClientSecret', {
      description: 'Client secret of the demo OAuth client (mock-auth)',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    const signingKey = new secretsmanager.Secret(this, 'MockSigningKey', {
      description: 'Key mock-auth signs tokens with and mock-api verifies them with',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    const noRotation =
      'A credential of the demo mock pair, generated at deploy time: the mocks read it from their environment at cold start, so rotating it ' +
      'would need a rotation Lambda that also redeploys the mocks and updates the connection; delete the stack to retire it.';
    acknowledge(clientSecret, 'AwsSolutions-SMG4', noRotation);
    acknowledge(signingKey, 'AwsSolutions-SMG4', noRotation);
    // The mocks take their keys as environment values: dynamic references, which
    // CloudFormation resolves at deploy time, keep them out of code and template.
    const signingKeyValue = signingKey.secretValue.unsafeUnwrap();

    const mockFunction = (id: string, binaryName: string, environment: Record<string, string>) => {
      const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.ONE_WEEK });
      return new RustFunction(this, id, {
        manifestPath,
        binaryName,
        runtime: 'provided.al2023',
        architecture,
        memorySize: 128,
        timeout: Duration.seconds(10),
        loggingFormat: lambda.LoggingFormat.JSON,
        environment,
        logGroup,
        role: logOnlyRole(this, `${id}Role`, logGroup),
      });
    };

    const auth = mockFunction('MockAuth', 'mock-auth', {
      CLIENT_ID: DEMO_CLIENT_ID,
      CLIENT_SECRET: clientSecret.secretValue.unsafeUnwrap(),
      SIGNING_KEY: signingKeyValue,
      TOKEN_TTL_SECONDS: '300',
      ALLOW_GET: 'false',
    });
    const api = mockFunction('MockApi', 'mock-api', { SIGNING_KEY: signingKeyValue });

    // Both check credentials themselves, as the real services do.
    const authUrl = auth.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    const apiUrl = api.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    const connection = new events.Connection(this, 'MockConnection', {
      description: 'OAuth client credentials against the mock token endpoint',
      authorization: events.Authorization.oauth({
        // Function URLs end with a slash.
        authorizationEndpoint: `${authUrl.url}token`,
        httpMethod: events.HttpMethod.POST,
        clientId: DEMO_CLIENT_ID,
        clientSecret: clientSecret.secretValue,
        bodyParameters: { grant_type: events.HttpParameter.fromString('client_credentials') },
      }),
    });
    if (connectionKey) cfnConnectionOf(connection)!.kmsKeyIdentifier = connectionKey.keyArn;

    new CfnOutput(this, 'MockAuthUrl', { value: authUrl.url });
    new CfnOutput(this, 'MockApiUrl', { value: apiUrl.url });
    return { connection, apiUrl: apiUrl.url };
  }
}

/**
 * A Lambda role that may write to its log group and do nothing else, instead
 * of the AWS managed AWSLambdaBasicExecutionRole (create any log group, write
 * to all of them).
 */
function logOnlyRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return role;
}
