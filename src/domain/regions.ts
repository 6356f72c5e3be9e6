import { REGION_PATTERN } from './identifiers.js';

// The regions the service knows (spec section 21.1): Alibaba Cloud's public regions by
// default, a list of its own (KMS_REGIONS), or `*` for any well-formed region, which test
// suites use to isolate their data. A region outside the catalog is refused where a
// request names it and ignored where the Host suggests it.

/** Alibaba Cloud's public region ids, in the order DescribeRegions lists them. */
export const ALIBABA_PUBLIC_REGIONS: readonly string[] = [
  'cn-hangzhou',
  'cn-shanghai',
  'cn-qingdao',
  'cn-beijing',
  'cn-zhangjiakou',
  'cn-huhehaote',
  'cn-wulanchabu',
  'cn-shenzhen',
  'cn-heyuan',
  'cn-guangzhou',
  'cn-chengdu',
  'cn-hongkong',
  'ap-southeast-1',
  'ap-southeast-3',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'us-east-1',
  'us-west-1',
  'eu-west-1',
  'eu-central-1',
  'me-east-1',
  'me-central-1',
];

/** A region id longer than this is refused before it reaches any index. */
export const MAX_REGION_LENGTH = 64;

/** `*` (any well-formed region) or the list of regions, in catalog order. */
export type RegionCatalog = '*' | readonly string[];

/** A region id of the right shape and length, catalog or not. */
export function isWellFormedRegion(region: string): boolean {
  return region.length <= MAX_REGION_LENGTH && REGION_PATTERN.test(region);
}

export function inCatalog(catalog: RegionCatalog, region: string): boolean {
  return isWellFormedRegion(region) && (catalog === '*' || catalog.includes(region));
}

/** Parses KMS_REGIONS: `*` or a comma-separated list; answers the problems found instead when any. */
export function parseRegionCatalog(text: string): RegionCatalog | { problems: string[] } {
  if (text.trim() === '*') return '*';
  const regions = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (regions.length === 0) return { problems: ['must be * or a comma-separated list of region ids'] };
  const bad = regions.filter((r) => !isWellFormedRegion(r));
  if (bad.length > 0) {
    return {
      problems: [
        `${bad.map((r) => JSON.stringify(r.slice(0, MAX_REGION_LENGTH))).join(', ')}: not a region id such as ` +
          `cn-hangzhou (at most ${MAX_REGION_LENGTH} characters)`,
      ],
    };
  }
  return [...new Set(regions)];
}
