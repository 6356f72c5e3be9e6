-- Tags of keys (spec section 18): unique per key by tag key (case-sensitive, byte order),
-- gone with their key.

CREATE TABLE key_tags (
  account_id text NOT NULL,
  region     text NOT NULL,
  key_id     text NOT NULL,
  tag_key    text COLLATE "C" NOT NULL,
  tag_value  text NOT NULL,
  PRIMARY KEY (account_id, region, key_id, tag_key),
  FOREIGN KEY (account_id, region, key_id) REFERENCES keys (account_id, region, id) ON DELETE CASCADE
);
