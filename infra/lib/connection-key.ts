import { Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';
import { cfnConnectionOf } from './connection-parameters';

/**
 * The customer managed KMS key that encrypts `connection`'s secret, as a key ARN,
 * or `undefined` when the connection uses EventBridge's default AWS owned key.
 *
 * `key`, when given, wins (use it for a connection imported by ARN, whose key
 * this app cannot see). Otherwise the key is read from a connection defined in
 * this app: its `kmsKey` (as `OutsetaConnection` has) or the
 * `KmsKeyIdentifier` of its `AWS::Events::Connection`.
 */
export function connectionKeyArn(connection: events.IConnection, key?: kms.IKey): string | undefined {
  if (key) return key.keyArn;
  const own = (connection as { kmsKey?: kms.IKey }).kmsKey;
  if (own) return own.keyArn;
  const identifier = cfnConnectionOf(connection)?.kmsKeyIdentifier;
  if (identifier === undefined) return undefined;
  // IAM needs the key's ARN; an alias or a bare key id cannot scope a statement.
  if (!Token.isUnresolved(identifier) && !/^arn:[^:]+:kms:[^:]*:[^:]*:key\//.test(identifier)) {
    throw new Error(
      `${(connection as IConstruct).node.path}: KmsKeyIdentifier "${identifier}" is not a key ARN; ` +
        'pass the key itself (a kms.IKey) so its users can be granted kms:Decrypt on it',
    );
  }
  return identifier;
}

/**
 * Allows decrypting `connection`'s secret with its customer managed key, and
 * nothing else with that key: `kms:Decrypt` only through Secrets Manager, only
 * with the encryption context EventBridge uses for that secret.
 *
 * Source: Amazon EventBridge User Guide, "Encrypting EventBridge connection
 * authorization with AWS KMS keys"
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/encryption-connections.html):
 * EventBridge encrypts a connection's secret with the single encryption-context
 * pair `kms:EncryptionContext:SecretARN` = the secret's ARN, and the documented
 * conditions are `kms:ViaService` `secretsmanager.*.amazonaws.com` and
 * `kms:EncryptionContext:SecretARN` (documented with a `events!connection/*`
 * wildcard; here the one secret's ARN, in the key's region).
 */
export function connectionSecretDecryptStatement(scope: IConstruct, connection: events.IConnection, keyArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [keyArn],
    conditions: {
      StringEquals: {
        'kms:EncryptionContext:SecretARN': connection.connectionSecretArn,
        // The secret lives in the connection's region (an imported connection's ARN names it).
        'kms:ViaService': `secretsmanager.${connection.env?.region ?? Stack.of(scope).region}.amazonaws.com`,
      },
    },
  });
}
