/**
 * Did-you-mean suggestions for names the CLI checks itself (grid hyperparameters), in the spirit
 * of commander's for unknown options.
 *
 * @packageDocumentation
 */

/**
 * The edit distance between two strings: insertions, deletions, substitutions and swaps of two
 * neighbouring characters each count 1 (the optimal string alignment distance).
 *
 * @example
 * ```ts
 * editDistance('lamda', 'lambda') // 1
 * editDistance('itemDegreeNrom', 'itemDegreeNorm') // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1)
      }
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidate closest to `word` (ignoring case), when it is close enough to be a typo: at most
 * a third of its length away (and at least one edit allowed). `undefined` when none is.
 *
 * @example
 * ```ts
 * closest('lamda', ['lambda', 'itemDegreeNorm']) // 'lambda'
 * closest('alpha', ['lambda', 'itemDegreeNorm']) // undefined
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    const allowed = Math.max(1, Math.floor(Math.max(word.length, candidate.length) / 3))
    if (distance <= allowed && distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}
