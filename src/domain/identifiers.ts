// The shapes of the identifiers the configuration, the identities file, the seed file and
// requests all accept: one definition each, so the four can never disagree.

/** An Alibaba Cloud account id: 16 digits. */
export const ACCOUNT_ID_PATTERN = /^[0-9]{16}$/;

/** A region id such as cn-hangzhou or ap-southeast-1. */
export const REGION_PATTERN = /^[a-z]{2,}(-[a-z0-9]+)+$/;
