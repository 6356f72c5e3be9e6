-- Automatic rotation (spec section 15.3): a key's policy is its interval in seconds (NULL:
-- off) and the time its next rotation falls due, always last_rotation_date + interval
-- while the policy is on. The sweeper finds due keys through the partial index; a request
-- that resolves a key sees its due time in the key row it reads anyway.

ALTER TABLE keys ADD COLUMN rotation_interval_s integer CHECK (rotation_interval_s > 0);
ALTER TABLE keys ADD COLUMN next_rotation_date timestamptz;
ALTER TABLE keys ADD CONSTRAINT keys_rotation_policy
  CHECK ((rotation_interval_s IS NULL) = (next_rotation_date IS NULL));

CREATE INDEX keys_rotation_sweep ON keys (next_rotation_date) WHERE next_rotation_date IS NOT NULL;
