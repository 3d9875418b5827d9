import { SecretValue } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { cfnConnectionOf, validateConnectionParameters } from './connection-parameters';

/**
 * Header name of the API key part of an {@link OutsetaConnection}. EventBridge
 * requires an API-key connection to have one; Outseta ignores it.
 */
export const OUTSETA_CONNECTION_HEADER = 'X-Outseta-Connection';

/** The literal, colon-free value sent in {@link OUTSETA_CONNECTION_HEADER}. Not a secret. */
export const OUTSETA_CONNECTION_HEADER_VALUE = 'header-parameter';

/**
 * Outseta API credentials: an API key and its secret key, which Outseta takes as
 * `Authorization: Outseta <api key>:<secret key>`.
 *
 * Keep them in Secrets Manager and pass `SecretValue.secretsManager(...)`: the
 * template then holds a `{{resolve:secretsmanager:...}}` reference, never the key.
 */
export class OutsetaCredentials {
  /**
   * From one value holding `<api key>:<secret key>` (the two joined by a colon,
   * without the `Outseta ` scheme), e.g. a Secrets Manager secret with that text.
   */
  static fromKeySecret(keySecret: SecretValue): OutsetaCredentials {
    return new OutsetaCredentials(new SecretValue(`Outseta ${keySecret.unsafeUnwrap()}`));
  }

  /**
   * From the API key and the secret key apart, e.g. two JSON fields of one secret:
   * `SecretValue.secretsManager(name, { jsonField: 'apiKey' })` and `{ jsonField: 'secretKey' }`.
   */
  static fromKeyAndSecret(apiKey: SecretValue, secretKey: SecretValue): OutsetaCredentials {
    return new OutsetaCredentials(new SecretValue(`Outseta ${apiKey.unsafeUnwrap()}:${secretKey.unsafeUnwrap()}`));
  }

  private constructor(
    /** The whole `Authorization` header value, `Outseta <api key>:<secret key>`. */
    readonly authorizationHeaderValue: SecretValue,
  ) {}
}

/**
 * The `Authorization` header value Outseta expects, `Outseta <key>:<secret>`,
 * from a value holding `<key>:<secret>`.
 */
export function outsetaAuthorization(keySecret: SecretValue): SecretValue {
  return OutsetaCredentials.fromKeySecret(keySecret).authorizationHeaderValue;
}

/** Props of {@link OutsetaConnection}. */
export interface OutsetaConnectionProps {
  /** The Outseta API key and secret key. */
  readonly credentials: OutsetaCredentials;

  /** @default a name CloudFormation generates */
  readonly connectionName?: string;

  /** @default 'Outseta API credentials (Authorization header)' */
  readonly description?: string;

  /**
   * A customer managed key for the connection's secret (`KmsKeyIdentifier`).
   * EventBridge needs the key tagged `EventBridgeApiDestinations=true` and a key
   * policy that lets it use the key (see infra/README.md). Whoever reads the
   * connection then needs `kms:Decrypt` on it: `FailureTicketBridge` and
   * `ScopedHttpInvoke` grant that.
   * @default the AWS owned key EventBridge uses by default
   */
  readonly kmsKey?: kms.IKey;
}

/**
 * An EventBridge connection that authenticates to Outseta.
 *
 * EventBridge's API refuses a `:` in an API-key value (and in a Basic password
 * or an OAuth client secret): the model's `AuthHeaderParametersSensitive`
 * pattern excludes it. Outseta's header value always has one. So the
 * connection is an API-key connection whose key is a harmless header
 * ({@link OUTSETA_CONNECTION_HEADER}: {@link OUTSETA_CONNECTION_HEADER_VALUE}),
 * and the credential travels as a secret invocation header parameter,
 * `Authorization: Outseta <key>:<secret>`, whose model shape
 * (`HeaderValueSensitive`) allows any printable ASCII. The notifier, and
 * Step Functions HTTP tasks using the connection, send both headers.
 * infra/README.md ("The Outseta connection") has the sources.
 */
export class OutsetaConnection extends events.Connection {
  /** The customer managed key of the connection's secret, if any. */
  readonly kmsKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: OutsetaConnectionProps) {
    super(scope, id, {
      connectionName: props.connectionName,
      description: props.description ?? 'Outseta API credentials (Authorization header)',
      authorization: events.Authorization.apiKey(OUTSETA_CONNECTION_HEADER, SecretValue.unsafePlainText(OUTSETA_CONNECTION_HEADER_VALUE)),
      headerParameters: { Authorization: events.HttpParameter.fromSecret(props.credentials.authorizationHeaderValue) },
    });
    this.kmsKey = props.kmsKey;
    if (props.kmsKey) {
      cfnConnectionOf(this)!.kmsKeyIdentifier = props.kmsKey.keyArn;
    }
    validateConnectionParameters(this);
  }
}
