import { KmsError } from '../../errors.js';
import type { Authenticator } from './authenticator.js';

// KMS_RATE_LIMIT_RPS per access key (off by default): a token bucket per key that holds
// one second of requests, so short bursts pass and a sustained excess gets
// Rejected.Throttling (429). Checked right after authentication, on both faces.

export function withRateLimit(inner: Authenticator, rps: number, clock: () => Date): Authenticator {
  if (rps <= 0) return inner;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    async authenticate(request, face) {
      const auth = await inner.authenticate(request, face);
      const key = auth.caller.accessKeyId;
      const now = clock().getTime();
      const b = buckets.get(key) ?? { tokens: rps, at: now };
      b.tokens = Math.min(rps, b.tokens + ((now - b.at) / 1000) * rps);
      b.at = now;
      if (b.tokens < 1) {
        buckets.set(key, b);
        throw new KmsError('Rejected.Throttling');
      }
      b.tokens -= 1;
      buckets.set(key, b);
      return auth;
    },
  };
}
