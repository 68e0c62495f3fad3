/**
 * Mulberry32: a tiny seeded pseudo-random generator, so that samples, request mixes and test
 * fixtures are reproducible. Shared by the examples, the benchmarks and the specs.
 *
 * @example
 * ```ts
 * const random = rng(2026)
 * const coin = random() < 0.5
 * ```
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
