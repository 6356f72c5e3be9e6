-- Key material import (spec section 17). An EXTERNAL key holds material only between an
-- import and a deletion or expiry: `has_material` says so (PrimaryKeyVersion stays once
-- made). The material's fingerprint (an HMAC under a key derived from the master key)
-- outlives it, so a re-import can be checked to carry the same material. A version whose
-- material was deleted keeps its row, without material.

ALTER TABLE keys ADD COLUMN has_material boolean NOT NULL DEFAULT true;
ALTER TABLE keys ADD COLUMN material_expire_time timestamptz;
ALTER TABLE keys ADD COLUMN material_fingerprint bytea;
ALTER TABLE keys ADD CONSTRAINT keys_material_expiry_needs_material
  CHECK (material_expire_time IS NULL OR has_material);

ALTER TABLE key_versions ALTER COLUMN wrapped_material DROP NOT NULL;

CREATE INDEX keys_material_expiry ON keys (material_expire_time) WHERE material_expire_time IS NOT NULL;

-- Import tokens (17.2): each holds the private half of a wrapping key pair, wrapped under
-- the master key, and is accepted by every instance that shares the database until the
-- sweeper drops it 7 days after it expired.
CREATE TABLE import_tokens (
  token               text PRIMARY KEY,
  account_id          text NOT NULL,
  region              text NOT NULL,
  key_id              text NOT NULL,
  wrapping_key_spec   text NOT NULL,
  wrapping_algorithm  text NOT NULL,
  wrapped_private_key bytea NOT NULL,
  expires_at          timestamptz NOT NULL,
  FOREIGN KEY (account_id, region, key_id) REFERENCES keys (account_id, region, id) ON DELETE CASCADE
);

CREATE INDEX import_tokens_by_key ON import_tokens (account_id, region, key_id);
CREATE INDEX import_tokens_expiry ON import_tokens (expires_at);

-- EXTERNAL keys made before this migration never received material.
UPDATE keys SET has_material = false WHERE origin = 'EXTERNAL' AND primary_key_version IS NULL;
