import test from 'ava'

import { CoRML, EASE, GFCF, evaluate, type Progress } from '../src/index.js'
import { FAST, randomDataset } from './fixtures.js'

const data = randomDataset(200, 80, 12, 21)
const split = data.split({ seed: 5 })

test('evaluate returns metrics in [0, 1] at each K, with Novelty > 0', async (t) => {
  for (const model of [
    await CoRML.fit(split.train, FAST),
    await EASE.fit(split.train),
    await GFCF.fit(split.train, { eigenvectors: 8 }),
  ]) {
    const result = await evaluate(model, split, { ks: [5, 10, 20] })
    t.is(result.users, data.numUsers, 'every user has a test item')
    t.true(result.seconds >= 0)
    t.deepEqual(
      result.metrics.map((m) => m.k),
      [5, 10, 20],
    )
    for (const m of result.metrics) {
      for (const value of [m.ndcg, m.mrr, m.recall, m.novelty]) t.true(value >= 0 && value <= 1)
      t.true(m.novelty > 0)
    }
    // Recall and MRR cannot decrease as K grows.
    const [a, b, c] = result.metrics
    t.true(a!.recall <= b!.recall && b!.recall <= c!.recall)
    t.true(a!.mrr <= b!.mrr && b!.mrr <= c!.mrr)
    t.true(c!.recall > 0, `${model.info.algorithm} finds something`)
  }
})

test('evaluate defaults to K = 5, 10, 20 and reports score progress', async (t) => {
  const model = await EASE.fit(split.train)
  const events: Progress[] = []
  const result = await evaluate(
    model,
    { valid: split.valid, test: split.test },
    { onProgress: (p) => events.push(p) },
  )
  t.deepEqual(
    result.metrics.map((m) => m.k),
    [5, 10, 20],
  )
  t.true(events.length > 0)
  t.true(
    events.every((e) => e.stage === 'score' && e.iteration >= 1 && e.iteration <= e.iterations),
  )
  await t.throwsAsync(evaluate(model, split, { signal: AbortSignal.abort() }), { code: 'ABORTED' })
})

test('evaluate with nothing held out is EMPTY_DATA', async (t) => {
  const trainOnly = data.split({ ratios: [1, 0, 0] })
  const model = await EASE.fit(trainOnly.train)
  await t.throwsAsync(evaluate(model, trainOnly), { code: 'EMPTY_DATA' })
})
