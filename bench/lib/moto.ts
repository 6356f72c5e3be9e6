// The AWS reference: moto_server's KMS over the AWS JSON protocol (POST / with
// X-Amz-Target: TrentService.<Operation>). moto routes a request to KMS, and picks its
// region, from the credential scope of the Authorization header; it does not check the
// signature, so a syntactically plausible header with a dummy signature is enough (checked
// at start-up by verifyDummySignature).

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { inParallel, type MotoOperation, SIGN_DIGEST } from './kms.js';
import { freePort, type Started, start, waitForHttp } from './processes.js';
import type { Scenario, VarSpec } from './scenario.js';

export const MOTO_READ_REGION = 'us-east-1';
export const MOTO_WRITE_REGION = 'us-west-2';

export interface Moto {
  host: string;
  port: number;
  proc: Started;
  command: string;
}

export interface MotoData {
  /** Signing keys (RSA_2048, ECC_NIST_P256) by id and alias, in the read region. */
  signKeys: Record<'RSA_2048' | 'EC_P256', { keyId: string; alias: string }>;
  readKey: string;
  readAlias: string;
  writeKey: string;
  otherWriteKey: string;
  updateNames: string[];
  /** What the dummy-signature check found. */
  signatureCheck: string;
}

export function findMoto(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v "${command}"`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const headers = (operation: string, region: string) => ({
  'content-type': 'application/x-amz-json-1.1',
  'x-amz-target': `TrentService.${operation}`,
  authorization:
    `AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20240101/${region}/kms/aws4_request, ` +
    `SignedHeaders=content-type;host;x-amz-target, Signature=${'0'.repeat(64)}`,
});

export async function startMoto(command: string, workDir: string): Promise<Moto> {
  const port = await freePort();
  const proc = start({
    name: 'moto_server',
    command,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PYENV_VERSION: process.env.PYENV_VERSION },
    stdoutFile: path.join(workDir, 'moto.log'),
    stderrFile: path.join(workDir, 'moto.log'),
  });
  const moto = { host: '127.0.0.1', port, proc, command };
  await waitForHttp(proc, `http://127.0.0.1:${port}/`, 60_000, {
    method: 'POST',
    headers: headers('ListKeys', MOTO_READ_REGION),
    body: '{}',
  });
  return moto;
}

export async function call(
  moto: Moto,
  operation: string,
  region: string,
  body: unknown,
  hdrs = headers(operation, region),
) {
  const res = await fetch(`http://${moto.host}:${moto.port}/`, {
    method: 'POST',
    headers: hdrs,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text };
}

async function must(moto: Moto, operation: string, region: string, body: unknown) {
  const res = await call(moto, operation, region, body);
  if (res.status !== 200) throw new Error(`moto ${operation}: ${res.status} ${res.body.slice(0, 300)}`);
  return res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {};
}

/** Two signatures that cannot both be valid must both be accepted, and the region must come from the scope. */
async function verifyDummySignature(moto: Moto): Promise<string> {
  const other = headers('ListKeys', MOTO_READ_REGION);
  other.authorization = other.authorization.replace(/Signature=0+/, `Signature=${'f'.repeat(64)}`);
  const a = await call(moto, 'ListKeys', MOTO_READ_REGION, {});
  const b = await call(moto, 'ListKeys', MOTO_READ_REGION, {}, other);
  if (a.status !== 200 || b.status !== 200) {
    throw new Error(`moto refused a dummy signature: ${a.status} ${b.status} ${b.body.slice(0, 200)}`);
  }
  const key = await must(moto, 'CreateKey', MOTO_WRITE_REGION, { Description: 'signature check' });
  const arn = (key.KeyMetadata as { Arn: string }).Arn;
  if (!arn.includes(`:${MOTO_WRITE_REGION}:`)) throw new Error(`moto ignored the credential scope's region: ${arn}`);
  return `dummy signatures (all zeros, all f) accepted; region taken from the credential scope (${arn.split(':')[3]})`;
}

export async function setUpMotoData(moto: Moto, listCount: number, updateCount: number): Promise<MotoData> {
  const signatureCheck = await verifyDummySignature(moto);
  const keyId = async (region: string) =>
    ((await must(moto, 'CreateKey', region, { Description: 'benchmark' })).KeyMetadata as { KeyId: string }).KeyId;
  const readKey = await keyId(MOTO_READ_REGION);
  const writeKey = await keyId(MOTO_WRITE_REGION);
  const otherWriteKey = await keyId(MOTO_WRITE_REGION);
  const listNames = Array.from({ length: listCount }, (_, i) => `alias/bench-list-${String(i).padStart(3, '0')}`);
  const updateNames = Array.from({ length: updateCount }, (_, i) => `alias/bench-upd-${String(i).padStart(4, '0')}`);
  await inParallel(listNames, 8, (AliasName) =>
    must(moto, 'CreateAlias', MOTO_READ_REGION, { AliasName, TargetKeyId: readKey }),
  );
  await inParallel(updateNames, 8, (AliasName) =>
    must(moto, 'CreateAlias', MOTO_WRITE_REGION, { AliasName, TargetKeyId: writeKey }),
  );
  const signKey = async (spec: 'RSA_2048' | 'ECC_NIST_P256', alias: string) => {
    const created = await must(moto, 'CreateKey', MOTO_READ_REGION, { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    await must(moto, 'CreateAlias', MOTO_READ_REGION, { AliasName: alias, TargetKeyId: keyId });
    return { keyId, alias };
  };
  const signKeys = {
    RSA_2048: await signKey('RSA_2048', 'alias/bench-sign-rsa'),
    EC_P256: await signKey('ECC_NIST_P256', 'alias/bench-sign-ec'),
  };
  return { signKeys, readKey, readAlias: listNames[0]!, writeKey, otherWriteKey, updateNames, signatureCheck };
}

/** The AWS equivalent of each operation (ListAliasesByKeyId is ListAliases with KeyId). */
export function motoShape(
  op: MotoOperation,
  data: MotoData,
  tag: string,
  plaintext: string,
  deleteNames: string[] = [],
): Pick<Scenario, 'request' | 'vars' | 'collect'> {
  const shape = (operation: string, region: string, body: string, vars?: Record<string, VarSpec>) => ({
    request: { kind: 'http' as const, method: 'POST', path: '/', headers: headers(operation, region), body },
    vars,
  });
  const R = MOTO_READ_REGION;
  const W = MOTO_WRITE_REGION;
  switch (op) {
    case 'CreateAlias':
      return {
        ...shape('CreateAlias', W, `{"AliasName":"{{name}}","TargetKeyId":"${data.writeKey}"}`, {
          name: { type: 'sequence', prefix: `alias/bench-c-${tag}-` },
        }),
        collect: 'name',
      };
    case 'UpdateAlias':
      return shape('UpdateAlias', W, '{"AliasName":"{{name}}","TargetKeyId":"{{key}}"}', {
        name: { type: 'cycle', values: data.updateNames },
        key: { type: 'alternate', values: [data.otherWriteKey, data.writeKey], every: data.updateNames.length },
      });
    case 'ListAliases':
      return shape('ListAliases', R, '{"Limit":10}');
    case 'ListAliasesByKeyId':
      return shape('ListAliases', R, `{"KeyId":"${data.readKey}","Limit":10}`);
    case 'DescribeKey (alias)':
      return shape('DescribeKey', R, `{"KeyId":"${data.readAlias}"}`);
    case 'Encrypt (alias)':
      return shape('Encrypt', R, `{"KeyId":"${data.readAlias}","Plaintext":"${plaintext}"}`);
    case 'Encrypt (key id)':
      return shape('Encrypt', R, `{"KeyId":"${data.readKey}","Plaintext":"${plaintext}"}`);
    case 'DeleteAlias':
      return shape('DeleteAlias', W, '{"AliasName":"{{name}}"}', { name: { type: 'list', values: deleteNames } });
    default: {
      // Sign over a digest (moto 5 ignores MessageType and hashes what it is given).
      const rsa = op.includes('RSA_2048');
      const key = data.signKeys[rsa ? 'RSA_2048' : 'EC_P256'];
      const algorithm = rsa ? 'RSASSA_PKCS1_V1_5_SHA_256' : 'ECDSA_SHA_256';
      const id = op.endsWith('(alias)') ? key.alias : key.keyId;
      return shape(
        'Sign',
        R,
        `{"KeyId":"${id}","Message":"${SIGN_DIGEST}","MessageType":"DIGEST","SigningAlgorithm":"${algorithm}"}`,
      );
    }
  }
}
