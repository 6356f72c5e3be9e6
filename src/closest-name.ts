// Which known name a mistyped one was probably meant to be: for an unknown REST field, an
// unknown KMS_* setting and an unknown RPC action. Names are compared without regard to
// case, so a name that differs only in case is at distance 0.

/** The Levenshtein distance between a and b (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate closest to `name`, case ignored, with its edit distance. A candidate that has
 * every word of the name (words split at `_`) comes first, so KMS_REGION finds
 * KMS_DEFAULT_REGION rather than the fewer edits of KMS_AUTH; then the fewest edits, then
 * the first given.
 */
export function closestName(
  name: string,
  candidates: Iterable<string>,
): { name: string; distance: number } | undefined {
  const lower = name.toLowerCase();
  const words = lower.split('_').filter(Boolean);
  let best: { name: string; distance: number; hasWords: boolean } | undefined;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    const distance = editDistance(lower, other);
    const otherWords = other.split('_');
    const hasWords = words.length > 0 && words.every((w) => otherWords.includes(w));
    if (
      best === undefined ||
      (hasWords && !best.hasWords) ||
      (hasWords === best.hasWords && distance < best.distance)
    ) {
      best = { name: candidate, distance, hasWords };
    }
  }
  return best && { name: best.name, distance: best.distance };
}

/** The known name a small edit away, if any: the same name in another case, or at most 2 edits. */
export function nearMiss(name: string, candidates: Iterable<string>): string | undefined {
  // A name of one or two characters is at most 2 edits from any short name: fewer edits then.
  const allowed = Math.min(2, name.length - 1);
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    // Lengths that differ by more than the edits allowed cannot match (and a long name is never compared).
    if (candidate === name || Math.abs(candidate.length - name.length) > allowed) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}
