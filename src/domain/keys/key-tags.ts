import { z } from 'zod';
import type { Queryable } from '../../db/database.js';
import { sql, statement } from '../../db/sql.js';
import { because } from '../params.js';
import type { Scope } from '../scope.js';

// Tags of keys (spec section 18): their grammar, shared by CreateKey, TagResource and
// UntagResource, and the statements that read and write them.

export interface Tag {
  TagKey: string;
  TagValue: string;
}

/** At most this many tags on a key. */
export const MAX_TAGS = 20;
const TAG_TEXT = /^[A-Za-z0-9/\\_\-.+=:@]*$/;

const isTagKey = (k: unknown): k is string =>
  typeof k === 'string' &&
  k.length >= 1 &&
  k.length <= 128 &&
  TAG_TEXT.test(k) &&
  !k.startsWith('aliyun') &&
  !k.startsWith('acs:');
const isTagValue = (v: unknown): v is string => typeof v === 'string' && v.length <= 128 && TAG_TEXT.test(v);

/** RPC sends JSON text, REST the JSON value itself. */
function jsonValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** The tags a value lists, or undefined when it is not a valid list of min..20 distinct tags. */
export function parseTags(value: unknown, min: number): Tag[] | undefined {
  const list = jsonValue(value);
  if (!Array.isArray(list) || list.length < min || list.length > MAX_TAGS) return undefined;
  const tags: Tag[] = [];
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
    const { TagKey, TagValue } = entry as Record<string, unknown>;
    if (!isTagKey(TagKey) || !isTagValue(TagValue)) return undefined;
    if (tags.some((t) => t.TagKey === TagKey)) return undefined;
    tags.push({ TagKey, TagValue });
  }
  return tags;
}

/** The tag keys a value lists (1..20 strings of 1..128 characters), or undefined. */
export function parseTagKeys(value: unknown): string[] | undefined {
  const list = jsonValue(value);
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_TAGS) return undefined;
  return list.every((k) => typeof k === 'string' && k.length >= 1 && k.length <= 128) ? (list as string[]) : undefined;
}

export const TAGS_TEXT =
  'a JSON array of up to 20 {"TagKey","TagValue"}: keys 1 to 128 and values 0 to 128 characters from ' +
  'A-Z a-z 0-9 / \\ _ - . + = : @, keys distinct and not starting with aliyun or acs:';

function tagsFrom(value: unknown, min: number, ctx: z.RefinementCtx): Tag[] {
  const tags = value === undefined ? (min === 0 ? [] : undefined) : parseTags(value, min);
  if (tags === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not a list of tags' });
    return z.NEVER;
  }
  return tags;
}

/** TagResource's `Tags`: 1..20 tags, required. */
export const RequiredTagsParam = because(
  z
    .unknown()
    .transform((value, ctx) => tagsFrom(value, 1, ctx))
    .describe(TAGS_TEXT),
  `it must be ${TAGS_TEXT}, at least one`,
);

/** CreateKey's `Tags`: 0..20 tags; absent is none. */
export const OptionalTagsParam = because(
  z
    .unknown()
    .optional()
    .transform((value, ctx) => tagsFrom(value, 0, ctx))
    .describe(TAGS_TEXT)
    .meta({ example: '[{"TagKey":"team","TagValue":"payments"}]' }),
  `it must be ${TAGS_TEXT}`,
);

/** A `TagKeys` parameter: a JSON array of 1..20 tag keys. */
export const TagKeysParam = because(
  z
    .unknown()
    .transform((value, ctx) => {
      const keys = value === undefined ? undefined : parseTagKeys(value);
      if (keys === undefined) {
        ctx.addIssue({ code: 'custom', message: 'not a list of tag keys' });
        return z.NEVER;
      }
      return keys;
    })
    .describe('A JSON array of 1 to 20 tag keys, e.g. ["team"]'),
  'it must be a JSON array of 1 to 20 tag keys of 1 to 128 characters',
);

/** Adds the tags to the key; an existing tag key gets the new value. */
export async function upsertTags(q: Queryable, scope: Scope, keyId: string, tags: readonly Tag[]): Promise<void> {
  if (tags.length === 0) return;
  await q.query(
    statement(
      'key-tags.upsert',
      sql`INSERT INTO key_tags (account_id, region, key_id, tag_key, tag_value)
          SELECT ${scope.accountId}, ${scope.region}, ${keyId}, t.k, t.v
            FROM unnest(${tags.map((t) => t.TagKey)}::text[], ${tags.map((t) => t.TagValue)}::text[]) AS t(k, v)
          ON CONFLICT (account_id, region, key_id, tag_key) DO UPDATE SET tag_value = EXCLUDED.tag_value`,
    ),
  );
}

export async function deleteTags(q: Queryable, scope: Scope, keyId: string, tagKeys: readonly string[]): Promise<void> {
  await q.query(
    statement(
      'key-tags.delete',
      sql`DELETE FROM key_tags
           WHERE account_id = ${scope.accountId} AND region = ${scope.region} AND key_id = ${keyId}
             AND tag_key = ANY(${tagKeys}::text[])`,
    ),
  );
}

/** The key's tags in byte order of their keys. */
export async function readTags(q: Queryable, scope: Scope, keyId: string): Promise<Tag[]> {
  const { rows } = await q.query<{ tag_key: string; tag_value: string }>(
    statement(
      'key-tags.read',
      sql`SELECT tag_key, tag_value FROM key_tags
           WHERE account_id = ${scope.accountId} AND region = ${scope.region} AND key_id = ${keyId}
           ORDER BY tag_key`,
    ),
  );
  return rows.map((r) => ({ TagKey: r.tag_key, TagValue: r.tag_value }));
}
