import { describe, expect, it } from 'vitest';
import { expectError } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { uniqueRegion, useTestApp } from '../helpers/test-app.js';

// The rotation story the alias feature exists for (spec section 4): an application names
// its key by an alias, the alias moves to a new key, and ciphertexts made under the old key
// still decrypt, because a blob names its own key version.

const t = useTestApp();
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe.each(FACES)('key rotation through an alias (%s face)', (name) => {
  it('old ciphertexts decrypt after the alias moves; disabling the old key refuses only them', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const context = { app: 'billing' };

    const k1 = await f.newKey({ Description: 'first' });
    expect((await f.createAlias('alias/app', k1)).status).toBe(f.successStatus('create'));
    const k1Version = (await f.describeKey(k1)).body.KeyMetadata.PrimaryKeyVersion;
    const before = await f.encrypt('alias/app', b64('before rotation'), context);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ KeyId: k1, KeyVersionId: k1Version });
    const dataKey = await f.generateDataKey('alias/app', { EncryptionContext: context });
    expect(dataKey.body.KeyId).toBe(k1);

    const k2 = await f.newKey({ Description: 'second' });
    expect((await f.updateAlias('alias/app', k2)).status).toBe(200);
    const k2Version = (await f.describeKey(k2)).body.KeyMetadata.PrimaryKeyVersion;
    expect(k2Version).not.toBe(k1Version);
    const after = await f.encrypt('alias/app', b64('after rotation'), context);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ KeyId: k2, KeyVersionId: k2Version });
    expect((await f.describeKey('alias/app')).body.KeyMetadata.KeyId).toBe(k2);
    const { rows } = await t.db.query('SELECT alias_name, key_id FROM aliases WHERE region = $1', [region]);
    expect(rows).toEqual([{ alias_name: 'alias/app', key_id: k2 }]);

    // Both decrypt, each naming the key that made it.
    const old = await f.decrypt(before.body.CiphertextBlob, context);
    expect(old.status).toBe(200);
    expect(old.body).toMatchObject({ Plaintext: b64('before rotation'), KeyId: k1, KeyVersionId: k1Version });
    const fresh = await f.decrypt(after.body.CiphertextBlob, context);
    expect(fresh.body).toMatchObject({ Plaintext: b64('after rotation'), KeyId: k2, KeyVersionId: k2Version });
    expect((await f.decrypt(dataKey.body.CiphertextBlob, context)).body.Plaintext).toBe(dataKey.body.Plaintext);

    // Retire the old key: only what it made is refused.
    expect((await f.disableKey(k1)).status).toBe(200);
    const refused = expectError(await f.decrypt(before.body.CiphertextBlob, context), 409, 'Rejected.Disabled');
    expect(refused.Message).toBe('The request was rejected because the key state is Disabled.');
    expectError(await f.decrypt(dataKey.body.CiphertextBlob, context), 409, 'Rejected.Disabled');
    expect((await f.decrypt(after.body.CiphertextBlob, context)).body.Plaintext).toBe(b64('after rotation'));
    expect((await f.encrypt('alias/app', b64('still works'), context)).body.KeyId).toBe(k2);
    expectError(await f.encrypt(k1, b64('x')), 409, 'Rejected.Disabled');

    // Re-enabled, the old key opens its ciphertexts again.
    expect((await f.enableKey(k1)).status).toBe(200);
    expect((await f.decrypt(before.body.CiphertextBlob, context)).body.Plaintext).toBe(b64('before rotation'));
  });
});
