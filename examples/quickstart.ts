/**
 * The main job on the embedded sample: split, train CoRML (and the EASE and GF-CF baselines),
 * print test metrics and a few recommendations. Run with `npm run demo`.
 */
import { fileURLToPath } from 'node:url'

import {
  CoRML,
  Dataset,
  EASE,
  GFCF,
  backendInfo,
  evaluate,
  type Recommender,
} from '../src/index.js'

const samplePath = fileURLToPath(new URL('./data/sample.tsv', import.meta.url))

const data = await Dataset.fromFile(samplePath)
console.log(
  `sample: ${data.numUsers} users, ${data.numItems} items, ${data.numInteractions} interactions`,
)
const { train, valid, test } = data.split({ ratios: [0.6, 0.2, 0.2], seed: 2026 })
const backends = await backendInfo()
console.log(
  `device 'auto' runs on ${backends.auto}` +
    (backends.cudaAvailable ? '' : ` (${backends.cudaUnavailableReason ?? 'no CUDA'})`),
)

const models: [string, Recommender][] = []
// The sample has 8 latent communities, so a rank-8 spectral part fits it; on real data keep the
// paper's 256 (the default) and start from a preset.
const corml = await CoRML.fit(train, {
  eigenvectors: 8,
  lambda: 0.8,
  onProgress: (p) => {
    if (p.stage === 'admm' && p.iteration % 10 === 0) {
      process.stderr.write(`  corml: ADMM iteration ${p.iteration}/${p.iterations}\n`)
    }
  },
})
models.push(['CoRML', corml])
models.push(['EASE', await EASE.fit(train, { regularization: 100 })])
models.push(['GF-CF', await GFCF.fit(train, { eigenvectors: 8 })])

console.log('\nmodel   train s  NDCG@10  MRR@10  Recall@20  Novelty@10')
for (const [name, model] of models) {
  const result = await evaluate(model, { valid, test }, { ks: [10, 20] })
  const at = (k: number) => result.metrics.find((m) => m.k === k)!
  console.log(
    `${name.padEnd(7)} ${model.info.seconds.toFixed(2).padStart(7)}  ${at(10).ndcg.toFixed(4)}   ` +
      `${at(10).mrr.toFixed(4)}  ${at(20).recall.toFixed(4)}     ${at(10).novelty.toFixed(4)}`,
  )
}

const someUsers = train.userIds().slice(0, 3)
console.log('\nCoRML recommendations (seen items excluded):')
for (const user of someUsers) {
  const recs = corml.recommend(user, { k: 5 })
  console.log(`  ${user}: ${recs.map((r) => `${r.item} (${r.score.toFixed(3)})`).join(', ')}`)
}
const history = train.itemIds().slice(0, 3)
const fresh = corml.recommendForHistory([...history, 'no-such-item'], { k: 5 })
console.log(
  `  a new user who liked ${history.join(', ')}: ${fresh.items.map((r) => r.item).join(', ')} ` +
    `(${fresh.ignored} unknown item ignored)`,
)
