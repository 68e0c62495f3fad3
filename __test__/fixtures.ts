/**
 * Small synthetic data for the specs (not a spec itself: ava runs `*.spec.ts` only).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { Dataset, type Recommendation } from '../src/index.js'
import { rng } from '../examples/random.js'

/** Block sizes of the checkerboard: `[users, items]` per block. */
export const BLOCKS: readonly (readonly [number, number])[] = [
  [10, 6],
  [12, 8],
  [14, 10],
]

/** Id of user `j` of block `b`. */
export const userId = (b: number, j: number): string => `u${b}-${j}`
/** Id of item `i` of block `b`. */
export const itemId = (b: number, i: number): string => `i${b}-${i}`

/**
 * A block-structured ("checkerboard") dataset: the users of block `b` interact with the items of
 * block `b` only, each user with all of them but one, `withheld(b, j)`. Any sensible item-based
 * model must rank that withheld item first for the user.
 */
export function checkerboard(): {
  data: Dataset
  withheld: Map<string, string>
  blockOf: (id: string) => number
  /** The interactions as (user, item) pairs. */
  pairs: [string, string][]
} {
  const users: string[] = []
  const items: string[] = []
  const withheld = new Map<string, string>()
  BLOCKS.forEach(([nu, ni], b) => {
    for (let j = 0; j < nu; j++) {
      const skip = j % ni
      withheld.set(userId(b, j), itemId(b, skip))
      for (let i = 0; i < ni; i++) {
        if (i === skip) continue
        users.push(userId(b, j))
        items.push(itemId(b, i))
      }
    }
  })
  const blockOf = (id: string): number => Number(id.slice(1, id.indexOf('-')))
  const pairs = users.map((u, i): [string, string] => [u, items[i]!])
  return { data: Dataset.fromPairs(users, items), withheld, blockOf, pairs }
}

/**
 * Random interactions: `nUsers` users with `perUser` distinct items each out of `nItems`, item
 * popularity skewed (low indices more popular). Every item appears at least once.
 */
export function randomPairs(
  nUsers: number,
  nItems: number,
  perUser: number,
  seed = 1,
): { users: string[]; items: string[] } {
  const random = rng(seed)
  const users: string[] = []
  const items: string[] = []
  for (let u = 0; u < nUsers; u++) {
    const chosen = new Set<number>()
    while (chosen.size < perUser) chosen.add(Math.floor(nItems * random() ** 2))
    for (const i of chosen) {
      users.push(`user${u}`)
      items.push(`item${i}`)
    }
  }
  for (let i = 0; i < nItems; i++) {
    users.push(`user${i % nUsers}`)
    items.push(`item${i}`)
  }
  return { users, items }
}

/** A random dataset, see {@link randomPairs}. */
export function randomDataset(nUsers: number, nItems: number, perUser: number, seed = 1): Dataset {
  const { users, items } = randomPairs(nUsers, nItems, perUser, seed)
  return Dataset.fromPairs(users, items)
}

/** Options that keep CoRML fast on the small fixtures. */
export const FAST = Object.freeze({ eigenvectors: 4, admmIterations: 10 })

/** A temporary directory, removed by the returned `cleanup`. */
export function tempDir(): {
  dir: string
  write: (name: string, content: string | Buffer) => string
  cleanup: () => void
} {
  const dir = mkdtempSync(join(tmpdir(), 'corml-test-'))
  return {
    dir,
    write: (name, content) => {
      const path = join(dir, name)
      writeFileSync(path, content)
      return path
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/**
 * Whether two rankings agree up to float32 rounding: the same scores position by position, and
 * the same items except where scores tie within `tol` (a batch is scored as one matrix product,
 * a single user as another, so the last bits of a score may differ and reorder near-ties).
 */
export function sameRanking(
  a: readonly Recommendation[],
  b: readonly Recommendation[],
  tol = 1e-6,
): boolean {
  if (a.length !== b.length) return false
  const scoreIn = new Map(a.map((r) => [r.item, r.score]))
  const last = a[a.length - 1]?.score ?? 0
  return b.every((r, i) => {
    if (Math.abs(r.score - a[i]!.score) > tol) return false
    const other = scoreIn.get(r.item)
    return other === undefined ? Math.abs(r.score - last) <= tol : Math.abs(other - r.score) <= tol
  })
}
