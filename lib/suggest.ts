// "Did you mean": the known names nearest to a mistyped one, for layers, commands, flags and lab keys.

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The known names nearest to `wanted`, closest first. */
export function nearestNames(wanted: string, known: Iterable<string>, most = 3): string[] {
  const lower = wanted.toLowerCase();
  return [...known]
    .map((k) => {
      const kl = k.toLowerCase();
      let d = editDistance(lower, kl);
      // Same board name in another namespace (rpi/4 for pi/4) is a strong hint; only for layer
      // names, or every name without a slash would count as close to every other.
      const name = (n: string) => (n.split('/').length === 2 ? n.split('/')[1] : undefined);
      if (name(kl) !== undefined && name(kl) === name(lower)) d = Math.min(d, 2);
      return { k, d };
    })
    .filter(({ d }) => d <= Math.max(2, Math.floor(lower.length / 3)))
    .sort((x, y) => x.d - y.d || (x.k < y.k ? -1 : 1))
    .slice(0, most)
    .map(({ k }) => k);
}

/** "did you mean a, b?" for the nearest known names, or undefined when none is close. */
export function didYouMean(wanted: string, known: Iterable<string>): string | undefined {
  const near = nearestNames(wanted, known);
  return near.length > 0 ? `did you mean ${near.join(', ')}?` : undefined;
}
