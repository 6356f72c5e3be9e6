-- With no quota to enforce (KMS_ALIAS_QUOTA=0 or KMS_KEY_QUOTA=0), creates and deletes
-- count on one of 16 stripe rows instead of the single scopes row, so concurrent creates
-- in one region no longer queue behind one row lock held through every commit. A
-- scope's count is its scopes row plus its stripes; either part may go below zero (a
-- key created under one setting and deleted under the other), only the sum is a count.

CREATE TABLE scope_counter_stripes (
  account_id  text NOT NULL,
  region      text NOT NULL,
  stripe      smallint NOT NULL CHECK (stripe >= 0 AND stripe < 16),
  key_count   integer NOT NULL DEFAULT 0,
  alias_count integer NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, region, stripe)
);

ALTER TABLE scopes DROP CONSTRAINT scopes_key_count_check;
ALTER TABLE scopes DROP CONSTRAINT scopes_alias_count_check;
