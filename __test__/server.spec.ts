/**
 * ModelServer: batching of concurrent requests, back pressure, and hot swaps under load.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { CoRML, EASE, ModelServer, isCormlError } from '../src/index.js'
import { FAST, randomDataset, sameRanking, tempDir } from './fixtures.js'
import type { Recommendation } from '../src/index.js'

const data = randomDataset(120, 60, 8, 5)
const models = {
  corml: CoRML.fit(data, { ...FAST, device: 'cpu' }),
  ease: EASE.fit(data, { regularization: 5, device: 'cpu' }),
}

test('concurrent requests are scored in batches and get what recommend gives', async (t) => {
  const model = await models.corml
  const server = ModelServer.of(model, { maxWaitMs: 5 })
  const users = data.userIds().slice(0, 100)
  const answers = await Promise.all(users.map((u) => server.recommend(u, { k: 5 })))
  // The batch is one product: scores agree with the one-user path to rounding.
  answers.forEach((items, i) =>
    t.true(sameRanking(items, model.recommend(users[i]!, { k: 5 }), 1e-5), users[i]),
  )
  const { requests, batches, pending } = server.stats()
  t.is(requests, 100)
  t.is(pending, 0)
  t.true(batches <= 4, `${batches} batches for 100 requests arriving together`)
  // Requests for different k share a batch, each getting its own k.
  const mixed = await Promise.all(
    users.slice(0, 30).map((u, i) => server.recommend(u, { k: 1 + (i % 7) })),
  )
  mixed.forEach((items, i) => {
    t.is(items.length, 1 + (i % 7))
    t.true(sameRanking(items, model.recommend(users[i]!, { k: 1 + (i % 7) }), 1e-5))
  })
  // Different options do not share a batch, and each still gets its own answer.
  const [a, b] = await Promise.all([
    server.recommend(users[0]!, { k: 3 }),
    server.recommend(users[0]!, { k: 3, filterSeen: false }),
  ])
  t.true(sameRanking(a, model.recommend(users[0]!, { k: 3 }), 1e-5))
  t.true(sameRanking(b, model.recommend(users[0]!, { k: 3, filterSeen: false }), 1e-5))
})

test('an unknown user fails alone, not its batch; the fallback answers it', async (t) => {
  const model = await models.corml
  const server = ModelServer.of(model, { maxWaitMs: 5 })
  const [good, bad, worse] = await Promise.allSettled([
    server.recommend(data.userIds()[0]!),
    server.recommend('nobody'),
    server.recommend(NaN),
  ])
  t.is(good.status, 'fulfilled')
  t.true(
    bad.status === 'rejected' && isCormlError(bad.reason) && bad.reason.code === 'UNKNOWN_USER',
  )
  t.true(
    worse.status === 'rejected' &&
      isCormlError(worse.reason) &&
      worse.reason.code === 'INVALID_ARGUMENT',
  )
  t.deepEqual(
    await server.recommend('nobody', { k: 4, fallback: 'popular' }),
    model.popularItems({ k: 4 }),
  )
})

test('fresh histories and similar items are batched too, and get what the single calls give', async (t) => {
  const model = await models.corml
  const server = ModelServer.of(model, { maxWaitMs: 5 })
  const items = model.itemIds()
  const histories = Array.from({ length: 40 }, (_, h) =>
    h % 7 === 0 ? [] : [items[h % items.length]!, items[(h * 3) % items.length]!, `new-${h}`],
  )
  const before = server.stats().batches
  const answers = await Promise.all(histories.map((h) => server.recommendForHistory(h, { k: 4 })))
  answers.forEach((got, h) => {
    const alone = model.recommendForHistory(histories[h]!, { k: 4 })
    t.is(got.ignored, alone.ignored)
    t.is(got.popular, alone.popular)
    t.true(sameRanking(got.items, alone.items, 1e-5), String(h))
  })
  t.true(server.stats().batches - before <= 2)
  const fallback = await server.recommendForHistory(['nothing'], { k: 3, fallback: 'popular' })
  t.deepEqual(fallback, model.recommendForHistory(['nothing'], { k: 3, fallback: 'popular' }))
  const similar = await Promise.allSettled([
    ...items.slice(0, 20).map((i) => server.similarItems(i, { k: 5, exclude: [items[1]!] })),
    server.similarItems('no-such-item'),
    server.similarItems(items[0]!, { filterSeen: false } as never),
  ])
  similar.slice(0, 20).forEach((r, i) => {
    t.is(r.status, 'fulfilled')
    const got = (r as PromiseFulfilledResult<Recommendation[]>).value
    t.true(sameRanking(got, model.similarItems(items[i]!, { k: 5, exclude: [items[1]!] }), 1e-5))
  })
  const [unknown, badOption] = similar.slice(20) as PromiseRejectedResult[]
  t.is(unknown!.reason.code, 'UNKNOWN_ITEM')
  t.is(badOption!.reason.code, 'INVALID_ARGUMENT')
})

test('a full queue refuses at once with OVERLOADED, and the server recovers', async (t) => {
  const model = await models.corml
  const server = ModelServer.of(model, { maxQueue: 10, maxWaitMs: 20 })
  const users = data.userIds()
  const results = await Promise.allSettled(users.slice(0, 25).map((u) => server.recommend(u)))
  const refused = results.filter(
    (r) => r.status === 'rejected' && isCormlError(r.reason) && r.reason.code === 'OVERLOADED',
  )
  t.is(refused.length, 15)
  t.is(results.filter((r) => r.status === 'fulfilled').length, 10)
  t.is(server.stats().overloaded, 15)
  t.true(sameRanking(await server.recommend(users[0]!), model.recommend(users[0]!), 1e-5))
})

test('options are checked', (t) => {
  for (const bad of [
    { maxWaitMs: -1 },
    { maxWaitMs: 101 },
    { maxBatch: 0 },
    { maxQueue: 1.5 },
    { concurrency: 65 },
    { speed: 1 },
  ]) {
    t.throws(() => ModelServer.of({} as never), { code: 'INVALID_ARGUMENT' })
    t.throws(
      () => ModelServer.of(undefined as never, bad as never),
      { code: 'INVALID_ARGUMENT' },
      JSON.stringify(bad),
    )
  }
})

test('hot swaps under load: no request fails, each is answered by one whole model', async (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const [corml, ease] = [await models.corml, await models.ease]
  const paths = [join(dir.dir, 'a.corml'), join(dir.dir, 'b.corml')]
  await corml.save(paths[0]!)
  await ease.save(paths[1]!)
  const server = await ModelServer.load(paths[0]!, { maxWaitMs: 1 })
  const users = data.userIds()
  const expected = new Map<string, Recommendation[]>()
  for (const [name, m] of [
    ['corml', corml],
    ['ease', ease],
  ] as const) {
    for (const u of users) expected.set(`${name}:${u}`, m.recommend(u, { k: 5 }))
  }
  const failures: unknown[] = []
  const answered: string[] = []
  let stop = false
  const load = (async () => {
    let i = 0
    while (!stop) {
      const wave = users.slice(i % 100, (i % 100) + 20)
      i += 20
      const results = await Promise.allSettled(wave.map((u) => server.recommend(u, { k: 5 })))
      results.forEach((r, j) => {
        if (r.status === 'rejected') failures.push(r.reason)
        else {
          const by = ['corml', 'ease'].find((n) =>
            sameRanking(r.value, expected.get(`${n}:${wave[j]}`)!, 1e-5),
          )
          answered.push(by ?? 'neither')
        }
      })
    }
  })()
  const released: boolean[] = []
  for (let s = 0; s < 6; s++) {
    await new Promise((r) => setTimeout(r, 30))
    const before = server.model
    await server.swap(paths[(s + 1) % 2]!)
    // The model swapped out is freed once its requests are done.
    await new Promise((r) => setTimeout(r, 30))
    released.push(
      t.throws(() => before.recommend(users[0]!))?.message.includes('released') ?? false,
    )
  }
  stop = true
  await load
  t.deepEqual(failures, [])
  t.false(answered.includes('neither'), 'every answer is one model’s whole answer')
  t.true(answered.includes('corml') && answered.includes('ease'))
  t.true(released.every(Boolean))
  t.is(server.stats().swaps, 6)
})

test('a swap to a missing or corrupt file rejects with its code and the old model keeps serving', async (t) => {
  const dir = tempDir()
  t.teardown(dir.cleanup)
  const server = ModelServer.of(await models.corml)
  const user = data.userIds()[0]!
  const before = await server.recommend(user)
  const same = (a: Recommendation[]) => sameRanking(a, before, 1e-5)
  await t.throwsAsync(server.swap(join(dir.dir, 'missing.corml')), { code: 'IO_ERROR' })
  const corrupt = join(dir.dir, 'corrupt.corml')
  writeFileSync(corrupt, 'not a model')
  await t.throwsAsync(server.swap(corrupt), { code: 'INVALID_MODEL_FILE' })
  await t.throwsAsync(server.swap({} as never), { code: 'INVALID_ARGUMENT' })
  t.true(same(await server.recommend(user)))
  t.is(server.stats().swaps, 0)
  // A model the server did not load is not freed when swapped out.
  const mine = await models.corml
  await server.swap(await models.ease)
  t.true(same(mine.recommend(user)))
})
