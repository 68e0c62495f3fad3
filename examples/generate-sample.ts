/**
 * Writes `examples/data/sample.tsv`: a small synthetic interaction set shipped with the repository
 * (the real benchmark datasets may not be redistributed). 800 users and 500 items in 8 latent
 * communities, Zipf-like item popularity and log-normal user activity, seeded so the file is
 * reproducible: `npx tsx examples/generate-sample.ts`.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { rng } from './random.js'

const USERS = 800
const ITEMS = 500
const COMMUNITIES = 8
const random = rng(2026)
const gauss = (): number =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())

// Item popularity ~ 1 / rank^0.9 within each community.
const itemsOf: number[][] = Array.from({ length: COMMUNITIES }, () => [])
for (let i = 0; i < ITEMS; i++) itemsOf[i % COMMUNITIES]!.push(i)
const weights = itemsOf.map((items) => items.map((_, r) => 1 / Math.pow(r + 1, 0.9)))

function draw(community: number): number {
  const w = weights[community]!
  const total = w.reduce((a, b) => a + b, 0)
  let x = random() * total
  for (let k = 0; k < w.length; k++) {
    x -= w[k]!
    if (x <= 0) return itemsOf[community]![k]!
  }
  return itemsOf[community]![w.length - 1]!
}

const lines = ['user_id\titem_id']
for (let u = 0; u < USERS; u++) {
  const home = Math.floor(random() * COMMUNITIES)
  const activity = Math.max(5, Math.min(120, Math.round(Math.exp(2.8 + 0.7 * gauss()))))
  const seen = new Set<number>()
  for (let n = 0; n < activity * 3 && seen.size < activity; n++) {
    const community = random() < 0.8 ? home : Math.floor(random() * COMMUNITIES)
    seen.add(draw(community))
  }
  for (const i of seen) lines.push(`user${u}\titem${i}`)
}

const out = fileURLToPath(new URL('./data/sample.tsv', import.meta.url))
writeFileSync(out, lines.join('\n') + '\n')
console.log(`wrote ${lines.length - 1} interactions to ${out}`)
