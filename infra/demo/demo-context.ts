import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { DemoStackProps } from './demo-stack';

/** Reads the demo's `-c key=value` flags (see bin/app.ts); throws on anything inconsistent. */
export function demoStackPropsFromContext(get: (key: string) => unknown): { stackName: string; props: DemoStackProps } {
  const str = (key: string): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null || value === '') return undefined;
    // `-c key=value` gives strings; cdk.json may give numbers or booleans. Nothing else is a flag value.
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new Error(`-c ${key} must be a string, number or boolean, got ${JSON.stringify(value)}`);
  };

  const authKind = str('auth') ?? 'oauth';
  let auth: DemoStackProps['auth'];
  if (authKind === 'oauth') {
    auth = { kind: 'oauth' };
  } else if (authKind === 'apikey') {
    const outsetaDomain = str('outsetaDomain');
    const apiKeySecretName = str('outsetaSecretName');
    if (!outsetaDomain || !apiKeySecretName) {
      throw new Error('-c auth=apikey needs -c outsetaDomain=<you>.outseta.com and -c outsetaSecretName=<secret holding "<api key>:<secret key>">');
    }
    if (!/^[a-z0-9.-]+$/i.test(outsetaDomain)) {
      throw new Error(`-c outsetaDomain must be a host name like acme.outseta.com, got "${outsetaDomain}"`);
    }
    auth = { kind: 'apikey', outsetaDomain, apiKeySecretName };
  } else {
    throw new Error(`-c auth must be oauth or apikey, got "${authKind}"`);
  }

  const uid = str('fromPersonUid');
  const email = str('fromPersonEmail');
  if (uid && email) throw new Error('pass only one of -c fromPersonUid and -c fromPersonEmail');
  if (auth.kind === 'apikey' && !uid && !email) {
    throw new Error('-c auth=apikey needs -c fromPersonEmail=... or -c fromPersonUid=... (a person in your Outseta account)');
  }
  const fromPerson = uid ? { uid } : { email: email ?? 'stepfunctions-alerts@example.com' };

  const arch = str('arch') ?? 'arm64';
  let architecture: lambda.Architecture;
  if (arch === 'arm64') architecture = lambda.Architecture.ARM_64;
  else if (arch === 'x86_64') architecture = lambda.Architecture.X86_64;
  else throw new Error(`-c arch must be arm64 or x86_64, got "${arch}"`);

  const reservedRaw = str('reservedConcurrency');
  let reservedConcurrency: number | null | undefined;
  if (reservedRaw === undefined) reservedConcurrency = undefined;
  else if (reservedRaw === 'none') reservedConcurrency = null;
  else if (/^[1-9][0-9]*$/.test(reservedRaw)) reservedConcurrency = Number(reservedRaw);
  else throw new Error(`-c reservedConcurrency must be a positive integer or "none", got "${reservedRaw}"`);

  const connectionKeyArn = str('connectionKmsKeyArn');
  if (connectionKeyArn !== undefined && !/^arn:[^:]+:kms:[^:]+:\d{12}:key\/[\w-]+$/.test(connectionKeyArn)) {
    throw new Error(`-c connectionKmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "${connectionKeyArn}"`);
  }

  return {
    stackName: str('stackName') ?? 'TicketBridgeDemo',
    props: { auth, fromPerson, architecture, alarmEmail: str('alarmEmail'), reservedConcurrency, connectionKeyArn },
  };
}
