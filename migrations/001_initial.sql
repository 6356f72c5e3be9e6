-- Keys, their versions (wrapped material), aliases, and the per-(account, region)
-- counters that keep quotas exact under concurrency and listing counts flat.

CREATE TABLE scopes (
  account_id  text NOT NULL,
  region      text NOT NULL,
  key_count   integer NOT NULL DEFAULT 0 CHECK (key_count >= 0),
  alias_count integer NOT NULL DEFAULT 0 CHECK (alias_count >= 0),
  PRIMARY KEY (account_id, region)
);

CREATE TABLE keys (
  account_id          text NOT NULL,
  region              text NOT NULL,
  id                  text NOT NULL,
  state               text NOT NULL CHECK (state IN ('Enabled', 'Disabled', 'PendingDeletion', 'PendingImport')),
  key_spec            text NOT NULL,
  key_usage           text NOT NULL,
  origin              text NOT NULL,
  protection_level    text NOT NULL,
  description         text NOT NULL DEFAULT '',
  creator             text NOT NULL,
  creation_date       timestamptz NOT NULL,
  delete_date         timestamptz,
  primary_key_version text,
  last_rotation_date  timestamptz,
  PRIMARY KEY (account_id, region, id),
  -- a key waiting for deletion always has a date, and only such a key has one
  CHECK ((state = 'PendingDeletion') = (delete_date IS NOT NULL))
);

CREATE INDEX keys_listing ON keys (account_id, region, creation_date, id);
CREATE INDEX keys_pending_deletion ON keys (account_id, region, delete_date) WHERE delete_date IS NOT NULL;
CREATE INDEX keys_sweep ON keys (delete_date) WHERE delete_date IS NOT NULL;

CREATE TABLE key_versions (
  account_id       text NOT NULL,
  region           text NOT NULL,
  key_id           text NOT NULL,
  id               text NOT NULL,
  -- AES-256-GCM under the master key; never the clear material
  wrapped_material bytea NOT NULL,
  creation_date    timestamptz NOT NULL,
  PRIMARY KEY (account_id, region, id),
  FOREIGN KEY (account_id, region, key_id) REFERENCES keys (account_id, region, id) ON DELETE CASCADE
);

CREATE INDEX key_versions_by_key ON key_versions (account_id, region, key_id);

CREATE TABLE aliases (
  account_id  text NOT NULL,
  region      text NOT NULL,
  alias_name  text COLLATE "C" NOT NULL,
  key_id      text NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (account_id, region, alias_name),
  FOREIGN KEY (account_id, region, key_id) REFERENCES keys (account_id, region, id) ON DELETE CASCADE
);

CREATE INDEX aliases_by_key ON aliases (account_id, region, key_id, alias_name);

-- Signature nonces, so a replay is refused also when it goes to another instance.
CREATE TABLE nonces (
  access_key_id text NOT NULL,
  nonce         text NOT NULL,
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (access_key_id, nonce)
);

CREATE INDEX nonces_expiry ON nonces (expires_at);

CREATE TABLE meta (
  name  text PRIMARY KEY,
  value text NOT NULL
);
