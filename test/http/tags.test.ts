import { describe, expect, it } from 'vitest';
import { expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, onPostgres, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Tags and ListKeys filters (spec section 18) on both faces: CreateKey's Tags,
// TagResource, UntagResource, ListResourceTags, the limits, and Filters.

const t = useTestApp();
const DAY_MS = 86_400_000;

async function tagRows(region: string, keyId: string) {
  const { rows } = await t.db.query<{ tag_key: string; tag_value: string }>(
    'SELECT tag_key, tag_value FROM key_tags WHERE region = $1 AND key_id = $2 ORDER BY tag_key COLLATE "C"',
    [region, keyId],
  );
  return rows.map((r) => [r.tag_key, r.tag_value]);
}

/** The face's calls for tags (RPC: JSON text; REST: JSON values, one tag key per DELETE). */
function tagsApi(name: 'rpc' | 'rest', region: string) {
  const rest = restClient(t.http, region);
  const call = (params: Record<string, string | undefined>) =>
    rpc(t.http, { RegionId: region, ...params }, { method: 'POST' });
  const enc = encodeURIComponent;
  type Tags = Array<{ TagKey: string; TagValue: string }>;
  return {
    createKey: (tags: Tags | string) =>
      name === 'rpc'
        ? call({ Action: 'CreateKey', Tags: typeof tags === 'string' ? tags : JSON.stringify(tags) })
        : rest.post('/v1/keys', { Tags: tags }),
    tag: (keyId: string, tags: Tags | string) =>
      name === 'rpc'
        ? call({ Action: 'TagResource', KeyId: keyId, Tags: typeof tags === 'string' ? tags : JSON.stringify(tags) })
        : rest.post(`/v1/keys/${enc(keyId)}/tags`, { Tags: tags }),
    untag: async (keyId: string, tagKeys: string[]) => {
      if (name === 'rpc') return call({ Action: 'UntagResource', KeyId: keyId, TagKeys: JSON.stringify(tagKeys) });
      let last: Awaited<ReturnType<typeof rest.delete>> | undefined;
      for (const k of tagKeys) last = await rest.delete(`/v1/keys/${enc(keyId)}/tags/${enc(k)}`);
      return last!;
    },
    list: (keyId: string) =>
      name === 'rpc' ? call({ Action: 'ListResourceTags', KeyId: keyId }) : rest.get(`/v1/keys/${enc(keyId)}/tags`),
    listKeys: (filters: unknown) =>
      name === 'rpc'
        ? call({ Action: 'ListKeys', PageSize: '100', Filters: JSON.stringify(filters) })
        : rest.get(`/v1/keys?PageSize=100&Filters=${enc(JSON.stringify(filters))}`),
    tagsOf: (body: Record<string, unknown>) =>
      (name === 'rpc' ? (body.Tags as { Tag: unknown[] }).Tag : (body.Tags as unknown[])) as Array<
        Record<string, string>
      >,
  };
}

describe.each(FACES)('tags (%s face)', (name) => {
  it('CreateKey takes Tags; TagResource (by alias) adds and overwrites; UntagResource removes; lists sort by key', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const api = tagsApi(name, region);
    const created = await api.createKey([
      { TagKey: 'team', TagValue: 'payments' },
      { TagKey: 'Env', TagValue: '' },
    ]);
    expect(created.status).toBe(f.successStatus('create'));
    const keyId = created.body.KeyMetadata.KeyId as string;
    expect(await tagRows(region, keyId)).toEqual([
      ['Env', ''],
      ['team', 'payments'],
    ]);
    expect((await f.createAlias('alias/tagged', keyId)).status).toBe(f.successStatus('create'));

    const tagged = await api.tag('alias/tagged', [
      { TagKey: 'team', TagValue: 'billing' },
      { TagKey: 'a/b:c\\d', TagValue: 'x@y=z' },
    ]);
    expect(tagged.status).toBe(200);
    if (name === 'rest') expect(api.tagsOf(tagged.body)).toHaveLength(3);
    const listed = await api.list(keyId);
    expect(listed.status).toBe(200);
    expect(api.tagsOf(listed.body)).toEqual([
      { KeyId: keyId, TagKey: 'Env', TagValue: '' },
      { KeyId: keyId, TagKey: 'a/b:c\\d', TagValue: 'x@y=z' },
      { KeyId: keyId, TagKey: 'team', TagValue: 'billing' },
    ]);

    const untagged = await api.untag(keyId, ['a/b:c\\d', 'never-set']);
    expect(untagged.status).toBe(f.successStatus(name === 'rest' ? 'delete' : 'other'));
    expect(await tagRows(region, keyId)).toEqual([
      ['Env', ''],
      ['team', 'billing'],
    ]);
    // Every state: a disabled key still takes and lists tags.
    expect((await f.disableKey(keyId)).status).toBe(200);
    expect((await api.tag(keyId, [{ TagKey: 'late', TagValue: '1' }])).status).toBe(200);
    expect(api.tagsOf((await api.list(keyId)).body)).toHaveLength(3);
  });

  it('refuses bad tags naming Tags and changes nothing; a bad CreateKey makes no key', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const api = tagsApi(name, region);
    const keyId = await f.newKey();
    const twenty = Array.from({ length: 20 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
    for (const bad of [
      [{ TagKey: 'aliyun-x', TagValue: 'v' }],
      [{ TagKey: 'acs:x', TagValue: 'v' }],
      [{ TagKey: 'sp ace', TagValue: 'v' }],
      [{ TagKey: 'k', TagValue: 'v'.repeat(129) }],
      [
        { TagKey: 'dup', TagValue: '1' },
        { TagKey: 'dup', TagValue: '2' },
      ],
      [...twenty, { TagKey: 'k20', TagValue: 'v' }],
    ]) {
      const res = await api.tag(keyId, bad);
      expectError(res, 400, 'InvalidParameter');
      expect(res.body.Message).toContain('Tags');
    }
    if (name === 'rpc') expectError(await api.tag(keyId, 'not json'), 400, 'InvalidParameter');
    expectError(await api.createKey([{ TagKey: 'aliyun', TagValue: '' }]), 400, 'InvalidParameter');
    expect(await tagRows(region, keyId)).toEqual([]);
    expect((await t.db.query('SELECT id FROM keys WHERE region = $1', [region])).rows).toHaveLength(1);

    // 20 in all is the limit: 15 then 6 more is refused whole, 5 more fits.
    expect((await api.tag(keyId, twenty.slice(0, 15))).status).toBe(200);
    expectError(
      await api.tag(keyId, twenty.slice(14).concat([{ TagKey: 'x', TagValue: '' }])),
      400,
      'InvalidParameter',
    );
    expect(await tagRows(region, keyId)).toHaveLength(15);
    expect((await api.tag(keyId, twenty.slice(15))).status).toBe(200);
    expect(await tagRows(region, keyId)).toHaveLength(20);
  });

  it('ListKeys Filters: values of one key ORed, keys ANDed, TotalCount counts the matches', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const api = tagsApi(name, region);
    const [a, b, c] = [await f.newKey(), await f.newKey(), await f.newKey()];
    expect((await f.disableKey(b)).status).toBe(200);
    expect((await f.scheduleKeyDeletion(c, 7)).status).toBe(200);
    const ids = (body: Record<string, unknown>) => f.keysOf(body).map((k) => k.KeyId);

    const enabled = await api.listKeys([{ Key: 'KeyState', Values: ['Enabled'] }]);
    expect(enabled.status).toBe(200);
    expect(ids(enabled.body)).toEqual([a]);
    expect(enabled.body.TotalCount).toBe(1);
    const either = await api.listKeys([
      { Key: 'KeyState', Values: ['Enabled'] },
      { Key: 'KeyState', Values: ['Disabled'] },
      { Key: 'KeySpec', Values: ['Aliyun_AES_256'] },
      { Key: 'CreatorType', Values: ['User'] },
      { Key: 'KeyUsage', Values: [] },
    ]);
    expect(ids(either.body).sort()).toEqual([a, b].sort());
    expect(either.body.TotalCount).toBe(2);
    const none = await api.listKeys([{ Key: 'CreatorType', Values: ['Service'] }]);
    expect(ids(none.body)).toEqual([]);
    expect(none.body.TotalCount).toBe(0);
    expect((await api.listKeys([])).body.TotalCount).toBe(3);

    for (const bad of [{}, [{ Key: 'Nope', Values: ['x'] }], [{ Key: 'KeyState', Values: ['enabled'] }], 'x']) {
      const res = await api.listKeys(bad);
      expectError(res, 400, 'InvalidParameter');
      expect(res.body.Message).toContain('Filters');
    }
    const unbuilt = await api.listKeys([{ Key: 'TagKey', Values: ['team'] }]);
    expectError(unbuilt, 400, 'UnsupportedOperation');
    expect(unbuilt.body.Message).toContain('Filters');
  });
});

describe('tag operations name exactly one resource (RPC)', () => {
  it('none: MissingParameter KeyId; a secret or certificate: UnsupportedOperation; two: InvalidParameter naming the second', async () => {
    const region = uniqueRegion();
    const call = (params: Record<string, string>) => rpc(t.http, { RegionId: region, ...params }, { method: 'POST' });
    const keyId = await face('rpc', t.http, region).newKey();
    const tags = JSON.stringify([{ TagKey: 'a', TagValue: 'b' }]);
    for (const action of ['TagResource', 'UntagResource']) {
      const more: Record<string, string> = action === 'TagResource' ? { Tags: tags } : { TagKeys: '["a"]' };
      const missing = await call({ Action: action, ...more });
      expectError(missing, 400, 'MissingParameter');
      expect(missing.body.Message).toContain('KeyId');
      const secret = await call({ Action: action, SecretName: 's', ...more });
      expectError(secret, 400, 'UnsupportedOperation');
      expect(secret.body.Message).toContain('SecretName');
      const two = await call({ Action: action, KeyId: keyId, CertificateId: 'c', ...more });
      expectError(two, 400, 'InvalidParameter');
      expect(two.body.Message).toContain('CertificateId');
    }
    expectError(await call({ Action: 'UntagResource', KeyId: keyId, TagKeys: 'a,b' }), 400, 'InvalidParameter');
  });
});

describe('tags under concurrency and purge', () => {
  it('concurrent TagResource calls never pass 20 tags on a key', async () => {
    const region = uniqueRegion();
    const api = tagsApi('rest', region);
    const keyId = await face('rest', t.http, region).newKey();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => api.tag(keyId, [{ TagKey: `c${i}`, TagValue: '' }])),
    );
    const ok = results.filter((r) => r.status === 200).length;
    for (const r of results) if (r.status !== 200) expectError(r, 400, 'InvalidParameter');
    expect(ok).toBe(20);
    expect(await tagRows(region, keyId)).toHaveLength(20);
    if (onPostgres) expect(results.some((r) => r.status === 400)).toBe(true);
  });

  it('tags go with their key when it is purged', async () => {
    const app = await makeApp(t.db, { KMS_AUTH: 'off' });
    try {
      const region = uniqueRegion();
      const f = face('rest', app.http, region);
      const keyId = await f.newKey();
      expect(
        (await restClient(app.http, region).post(`/v1/keys/${keyId}/tags`, { Tags: [{ TagKey: 'x', TagValue: 'y' }] }))
          .status,
      ).toBe(200);
      expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
      app.advance(7 * DAY_MS + 60_000);
      expect((await f.listKeys()).body.TotalCount).toBe(0); // the list purges the scope
      expect(await tagRows(region, keyId)).toEqual([]);
    } finally {
      await app.app.close();
    }
  });
});
