/**
 * The README's reference tables say what the code does: the CoRML options table is the list the
 * library validates against (names, symbols, defaults).
 */
import { readFileSync } from 'node:fs'

import test from 'ava'

import { HYPERPARAMETERS } from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

test('the README options table matches HYPERPARAMETERS', (t) => {
  const rows = new Map(
    [...readme.matchAll(/^\| `(\w+)` +\| ([^|]*)\| ([^|]*)\|/gm)].map((m) => [
      m[1]!,
      { symbol: m[2]!.trim(), default: m[3]!.trim() },
    ]),
  )
  for (const h of HYPERPARAMETERS) {
    const row = rows.get(h.name)
    t.truthy(row, `${h.name} is in the README's options table`)
    t.is(row?.symbol, h.symbol, `${h.name}: symbol`)
    t.is(row?.default, String(h.default), `${h.name}: default`)
  }
})
