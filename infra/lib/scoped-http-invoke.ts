import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { connectionKeyArn, connectionSecretDecryptStatement } from './connection-key';

export interface ScopedHttpInvokeProps {
  /** The connection that authenticates the call. */
  readonly connection: events.IConnection;
  /**
   * The customer managed KMS key of the connection's secret, for a connection
   * imported by ARN (the key of one defined in this app is found by itself).
   * The state machine then gets `kms:Decrypt` on it for that secret only.
   * @default the connection's own key if it has one, else none (AWS owned key)
   */
  readonly connectionKey?: kms.IKey;
  /** HTTP method, upper case. Also the `states:HTTPMethod` condition. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  /** Full URL of the endpoint, without query string. */
  readonly endpoint: string;
  /**
   * `states:HTTPEndpoint` pattern (IAM `StringLike`) the permission is limited to.
   * @default exactly `endpoint`
   */
  readonly endpointPattern?: string;
  readonly headers?: Record<string, unknown>;
  readonly queryParameters?: Record<string, unknown>;
  readonly requestBody?: unknown;
  readonly resultSelector?: Record<string, unknown>;
  readonly resultPath?: string;
  readonly comment?: string;
  /** @default Duration.seconds(60), the HTTP task's own limit */
  readonly timeout?: Duration;
}

/**
 * An HTTP task (`arn:aws:states:::http:invoke`) with a permission scoped to
 * what it calls.
 *
 * CDK's `HttpInvoke` grants `states:InvokeHTTPEndpoint` on `Resource: "*"`.
 * The action's resource is the state machine that makes the call (not the
 * endpoint, not the connection); a statement scoped to anything else is
 * denied at run time with `States.Http.AccessDenied`. {@link grantInvoke} grants it on the machine's
 * own ARN, with the method and the endpoint as conditions; build that ARN from
 * a fixed machine name ({@link stateMachineArnFromName}) so the role's policy
 * does not depend on the machine that depends on the role.
 */
export class ScopedHttpInvoke extends sfn.CustomState {
  private readonly props: ScopedHttpInvokeProps;

  /** The state's name is its construct id. */
  constructor(scope: Construct, id: string, props: ScopedHttpInvokeProps) {
    // Step Functions refuses the definition ("The 'Headers' field contains unsupported
    // values: [authorization]"): credentials belong in the connection.
    const authorization = Object.keys(props.headers ?? {}).find((name) => name.replace(/\.\$$/, '').toLowerCase() === 'authorization');
    if (authorization) {
      throw new Error(`ScopedHttpInvoke ${id}: an HTTP task cannot set the "${authorization}" header; put the credential in the connection (for Outseta: OutsetaConnection)`);
    }
    super(scope, id, {
      stateJson: {
        Type: 'Task',
        Comment: props.comment,
        Resource: `arn:${Aws.PARTITION}:states:::http:invoke`,
        Parameters: {
          ApiEndpoint: props.endpoint,
          Method: props.method,
          Authentication: { ConnectionArn: props.connection.connectionArn },
          Headers: props.headers,
          QueryParameters: props.queryParameters,
          RequestBody: props.requestBody,
        },
        ResultSelector: props.resultSelector,
        ResultPath: props.resultPath,
        TimeoutSeconds: (props.timeout ?? Duration.seconds(60)).toSeconds(),
      },
    });
    this.props = props;
  }

  /** What a state machine with ARN `stateMachineArn` needs to run this task. */
  policyStatements(stateMachineArn: string): iam.PolicyStatement[] {
    const { connection } = this.props;
    const keyArn = connectionKeyArn(connection, this.props.connectionKey);
    return [
      new iam.PolicyStatement({
        actions: ['states:InvokeHTTPEndpoint'],
        resources: [stateMachineArn],
        conditions: {
          StringEquals: { 'states:HTTPMethod': this.props.method },
          StringLike: { 'states:HTTPEndpoint': this.props.endpointPattern ?? this.props.endpoint },
        },
      }),
      new iam.PolicyStatement({
        actions: ['events:RetrieveConnectionCredentials'],
        resources: [connection.connectionArn],
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [connection.connectionSecretArn],
      }),
      ...(keyArn ? [connectionSecretDecryptStatement(this, connection, keyArn)] : []),
    ];
  }

  /** Adds {@link policyStatements} to the grantee (normally the state machine). */
  grantInvoke(grantee: iam.IGrantable, stateMachineArn: string): void {
    for (const statement of this.policyStatements(stateMachineArn)) {
      grantee.grantPrincipal.addToPrincipalPolicy(statement);
    }
  }
}

/**
 * The ARN a state machine named `stateMachineName` will have in `scope`'s
 * stack; known before the machine exists.
 */
export function stateMachineArnFromName(scope: Construct, stateMachineName: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: stateMachineName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
