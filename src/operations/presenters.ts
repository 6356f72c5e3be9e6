import { z } from 'zod';

export type { RestRoute } from './operation.js';

import type { Alias } from '../domain/aliases/aliases.schemas.js';
import { Alias as AliasSchema } from '../domain/aliases/aliases.schemas.js';
import type { KeyMetadata } from '../domain/keys/keys.schemas.js';
import { KeyMetadata as KeyMetadataSchema } from '../domain/keys/keys.schemas.js';

// What several operations answer alike, on each face, and the REST schemas that describe
// it. REST response schemas are allow-lists: a field not named here never reaches the wire.

export interface Page<T> {
  PageNumber: number;
  PageSize: number;
  TotalCount: number;
  items: T[];
}

export const RequestId = z.string().describe('Uppercase UUID, also sent as the x-acs-request-id header');

export const RegionQuery = z.object({
  RegionId: z.string().optional().describe('Region; also taken from the x-acs-region-id header'),
});

/** A path segment that takes any of the four key identifiers. */
export const AnyKeyPath = z.object({
  KeyId: z.string().describe('Key id, key ARN, alias name or alias ARN (URL-encoded: alias%2Fapp)'),
});
/** A path segment that takes a key id or key ARN. */
export const KeyPath = z.object({ KeyId: z.string().describe('Key id or key ARN (URL-encoded)') });
export const AliasPath = z.object({
  AliasName: z.string().describe('Alias name, URL-encoded (alias%2Fapp); raw slashes are accepted too'),
});

export const nothing = () => ({});

export const keyMetadata = (m: KeyMetadata) => ({ KeyMetadata: m });
export const KeyMetadataResponse = z.object({ RequestId, KeyMetadata: KeyMetadataSchema });

export const oneAlias = (a: Alias) => ({ Alias: a });
export const AliasResponse = z.object({ RequestId, Alias: AliasSchema });

const pageFields = (p: Page<unknown>) => ({ PageNumber: p.PageNumber, PageSize: p.PageSize, TotalCount: p.TotalCount });
export const PageResponseFields = { RequestId, PageNumber: z.number(), PageSize: z.number(), TotalCount: z.number() };

/** A page on the RPC face: the list under `Outer.Inner` (Alibaba's shape; always an array). */
export const rpcPage =
  <T>(outer: string, inner: string) =>
  (p: Page<T>) => ({ ...pageFields(p), [outer]: { [inner]: p.items } });

/** A page on the REST face: the list as a plain array under `name`. */
export const restPage =
  <T>(name: string) =>
  (p: Page<T>) => ({ ...pageFields(p), [name]: p.items });

export const aliasPageRpc = rpcPage<Alias>('Aliases', 'Alias');
export const aliasPageRest = restPage<Alias>('Aliases');
export const ListAliasesResponse = z.object({ ...PageResponseFields, Aliases: z.array(AliasSchema) });

/** A key's tags, as ListResourceTags and the REST TagResource answer them. */
export interface KeyTags {
  keyId: string;
  tags: Array<{ TagKey: string; TagValue: string }>;
}
export const KeyTag = z.object({ KeyId: z.string(), TagKey: z.string(), TagValue: z.string() }).meta({ id: 'KeyTag' });
export const keyTagList = (r: KeyTags) =>
  r.tags.map((t) => ({ KeyId: r.keyId, TagKey: t.TagKey, TagValue: t.TagValue }));

/** One key version (spec 15.2), as CreateKeyVersion, DescribeKeyVersion and ListKeyVersions answer it. */
export interface KeyVersion {
  KeyId: string;
  KeyVersionId: string;
  CreationDate: string;
}
export const KeyVersionSchema = z
  .object({ KeyId: z.string(), KeyVersionId: z.string(), CreationDate: z.string() })
  .meta({ id: 'KeyVersion' });
export const oneKeyVersion = (v: KeyVersion) => ({
  KeyVersion: { KeyId: v.KeyId, KeyVersionId: v.KeyVersionId, CreationDate: v.CreationDate },
});
export const KeyVersionResponse = z.object({ RequestId, KeyVersion: KeyVersionSchema });
