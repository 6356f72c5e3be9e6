// A scope's key and alias counts as the service keeps them: its scopes row plus its
// counter stripes (migration 002: creates count on a stripe when no quota is enforced).
// Either part may be negative; only the sum is a count.

export interface Counters {
  key_count: number;
  alias_count: number;
}

/** The service's Database, or a pg Pool/Client opened by the test. */
export interface CanQuery {
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }>;
}

export async function scopeCounters(q: CanQuery, accountId: string, region: string): Promise<Counters> {
  const { rows } = (await q.query(
    `SELECT coalesce((SELECT key_count FROM scopes WHERE account_id = $1 AND region = $2), 0) +
            coalesce((SELECT sum(key_count) FROM scope_counter_stripes WHERE account_id = $1 AND region = $2), 0)::int
              AS key_count,
            coalesce((SELECT alias_count FROM scopes WHERE account_id = $1 AND region = $2), 0) +
            coalesce((SELECT sum(alias_count) FROM scope_counter_stripes WHERE account_id = $1 AND region = $2), 0)::int
              AS alias_count`,
    [accountId, region],
  )) as { rows: Counters[] };
  return { key_count: Number(rows[0]!.key_count), alias_count: Number(rows[0]!.alias_count) };
}
