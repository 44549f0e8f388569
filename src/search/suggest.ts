/** "Did you mean" for galaxy ids: a few indexed ids spelled closest to an unknown one. */

/** Levenshtein distance, giving up (returning `limit + 1`) once it must exceed `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Up to `max` of `ids` closest to `id`: same id in another case, then the fewest edits (at
 * most a third of the id's length). A full scan — only run when reporting an error.
 */
export function suggestIds(id: string, ids: readonly string[], max = 3): string[] {
  const limit = Math.max(1, Math.floor(id.length / 3));
  const lower = id.toLowerCase();
  const scored: { id: string; d: number }[] = [];
  for (const x of ids) {
    const d = x.toLowerCase() === lower ? 0 : editDistance(lower, x.toLowerCase(), limit);
    if (d <= limit) scored.push({ id: x, d });
  }
  return scored.sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1)).slice(0, max).map((s) => s.id);
}
