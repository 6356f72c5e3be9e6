-- The by-key indexes lead with the key id. Led by (account_id, region), they also match a
-- lookup by (account_id, region, alias_name) or (account_id, region, id): without planner
-- statistics (autovacuum off, or PGlite, which has none) the planner rated such a scan of a
-- whole region as cheap as the primary key, and chose it. Measured at 65,000 aliases in one
-- region: an alias lookup read 1,658 buffers (8 ms) instead of 4. Led by the key id, they no
-- longer match a query that does not name the key.

DROP INDEX aliases_by_key;
CREATE INDEX aliases_by_key ON aliases (key_id, account_id, region, alias_name);

DROP INDEX key_versions_by_key;
CREATE INDEX key_versions_by_key ON key_versions (key_id, account_id, region);
