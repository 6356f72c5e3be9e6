-- The admin API (spec section 21.2): the service clock's offset from the base clock, and
-- accounts made by POST /_emulator/accounts, each with one root access key whose secret is
-- wrapped under the master key (never stored in the clear).

INSERT INTO meta (name, value) VALUES ('clock_offset_seconds', '0') ON CONFLICT (name) DO NOTHING;

CREATE TABLE admin_accounts (
  account_id  text PRIMARY KEY,
  created_at  timestamptz NOT NULL
);

CREATE TABLE admin_access_keys (
  access_key_id  text PRIMARY KEY,
  account_id     text NOT NULL REFERENCES admin_accounts (account_id) ON DELETE CASCADE,
  -- AES-256-GCM under the master key, bound to the access key id
  wrapped_secret bytea NOT NULL
);

CREATE INDEX admin_access_keys_by_account ON admin_access_keys (account_id);
