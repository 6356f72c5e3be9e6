import { z } from 'zod';
import type { RegionCatalog } from '../domain/regions.js';
import { accountRegionsWithData } from '../domain/regions.store.js';
import { decided, defineOperation, refusal } from './operation.js';
import { RegionQuery, RequestId } from './presenters.js';

// DescribeRegions (spec section 21.1): the region catalog in its order. With `*` (any
// well-formed region) the catalog is the default region, then every other region in which
// the caller's account holds a key or an alias, in byte order; other accounts' regions are
// never shown. RAM: kms:DescribeRegions on `*`. No region is needed to call it.

export const DescribeRegionsInput = z.object({});

/** The regions to list: the catalog, or with `*` the default and the account's regions with data. */
export function regionList(catalog: RegionCatalog, defaultRegion: string, withData: readonly string[]): string[] {
  if (catalog !== '*') return [...catalog];
  return [defaultRegion, ...withData.filter((r) => r !== defaultRegion)];
}

const RegionEntry = z.object({ RegionId: z.string() });

export const describeRegions = defineOperation({
  name: 'DescribeRegions',
  input: DescribeRegionsInput,
  async run({ db, regions }, ctx): Promise<string[]> {
    decided(refusal(ctx.permission('kms:DescribeRegions', ['*'])) ?? 'describe');
    const withData = regions.catalog === '*' ? await accountRegionsWithData(db, ctx.accountId) : [];
    return regionList(regions.catalog, regions.defaultRegion, withData);
  },
  rpc: (list) => ({ Regions: { Region: list.map((RegionId) => ({ RegionId })) } }),
  rest: [
    {
      method: 'GET',
      url: '/v1/regions',
      summary: 'List the regions (DescribeRegions)',
      description:
        'The regions of KMS_REGIONS in its order; with KMS_REGIONS=* the default region, then the regions in ' +
        "which the caller's account holds a key or an alias, in byte order.",
      tags: ['Regions'],
      status: 200,
      querystring: RegionQuery,
      response: z.object({ RequestId, Regions: z.array(RegionEntry) }),
      present: (list) => ({ Regions: list.map((RegionId) => ({ RegionId })) }),
    },
  ],
});
