import createClient from 'openapi-fetch';
// Generated from openapi.yaml by openapi.test.ts before this file is type-checked and run.
import type { paths } from './generated/kms-api.js';

// A full key and alias round trip with a client generated from openapi.yaml: if the
// document and the service disagree, either tsc (types) or the assertions (runtime) fail.

export async function roundTrip(baseUrl: string, authorization: string, region: string): Promise<string[]> {
  const client = createClient<paths>({ baseUrl, headers: { authorization } });
  const steps: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`round trip failed at: ${what}`);
    steps.push(what);
  };
  const query = { RegionId: region };

  const k1 = await client.POST('/v1/keys', { params: { query }, body: { Description: 'generated client' } });
  check(k1.response.status === 201 && k1.data?.KeyMetadata.Description === 'generated client', 'CreateKey');
  const keyId = k1.data!.KeyMetadata.KeyId;
  const k2 = await client.POST('/v1/keys', { params: { query }, body: {} });
  check(k2.response.status === 201, 'CreateKey again');
  const keyId2 = k2.data!.KeyMetadata.KeyId;

  const created = await client.POST('/v1/aliases', {
    params: { query },
    body: { AliasName: 'alias/gen', KeyId: keyId },
  });
  check(created.response.status === 201 && created.data?.Alias.KeyId === keyId, 'CreateAlias');

  const read = await client.GET('/v1/aliases/{AliasName}', { params: { path: { AliasName: 'alias/gen' }, query } });
  check(read.data?.Alias.AliasArn.endsWith(':alias/gen') === true, 'read one alias');

  const described = await client.GET('/v1/keys/{KeyId}', { params: { path: { KeyId: 'alias/gen' }, query } });
  check(described.data?.KeyMetadata.KeyId === keyId, 'DescribeKey by alias');

  const updated = await client.PUT('/v1/aliases/{AliasName}', {
    params: { path: { AliasName: 'alias/gen' }, query },
    body: { KeyId: keyId2 },
  });
  check(updated.data?.Alias.KeyId === keyId2, 'UpdateAlias');

  const listed = await client.GET('/v1/aliases', { params: { query: { ...query, PageSize: 10 } } });
  check(listed.data?.TotalCount === 1 && listed.data.Aliases[0]?.KeyId === keyId2, 'ListAliases');

  const byKey = await client.GET('/v1/keys/{KeyId}/aliases', { params: { path: { KeyId: keyId2 }, query } });
  check(byKey.data?.Aliases.length === 1, 'ListAliasesByKeyId');

  const keys = await client.GET('/v1/keys', { params: { query } });
  check(keys.data?.TotalCount === 2, 'ListKeys');

  const deleted = await client.DELETE('/v1/aliases/{AliasName}', {
    params: { path: { AliasName: 'alias/gen' }, query },
  });
  check(deleted.response.status === 204, 'DeleteAlias');

  const missing = await client.GET('/v1/aliases/{AliasName}', { params: { path: { AliasName: 'alias/gen' }, query } });
  check(
    missing.response.status === 404 && missing.error?.Code === 'Forbidden.AliasNotFound' && missing.data === undefined,
    'error envelope on a deleted alias',
  );

  const duplicate = await client.POST('/v1/aliases', {
    params: { query },
    body: { AliasName: 'alias/x', KeyId: 'alias/y' },
  });
  check(duplicate.response.status === 400 && duplicate.error?.Code === 'Unsupported.Alias', 'Unsupported.Alias');
  return steps;
}
