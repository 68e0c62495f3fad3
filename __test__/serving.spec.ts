import test from 'ava'

import { BatchRecommendations, CoRML, Dataset, EASE, GFCF, type Recommender } from '../src/index.js'
import { FAST, checkerboard, itemId, sameRanking, userId } from './fixtures.js'

const board = checkerboard()
const models: Record<string, Promise<Recommender>> = {
  CoRML: CoRML.fit(board.data, { ...FAST, lambda: 0.7, device: 'cpu' }),
  EASE: EASE.fit(board.data, { regularization: 10, device: 'cpu' }),
  GFCF: GFCF.fit(board.data, { eigenvectors: 4 }),
}
const INVALID = { code: 'INVALID_ARGUMENT' } as const
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b))

for (const [name, fitted] of Object.entries(models)) {
  test(`${name}: recommendBatch gives padded typed arrays that match recommend`, async (t) => {
    const model = await fitted
    const users = model.userIds()
    const k = model.numItems // more than any user has left: rows are padded
    const batch = await model.recommendBatch(users, { k })
    t.true(batch instanceof BatchRecommendations)
    t.true(batch.items instanceof Int32Array)
    t.true(batch.scores instanceof Float32Array)
    t.is(batch.length, users.length)
    t.is(batch.k, k)
    t.is(batch.items.length, users.length * k)
    t.is(batch.itemIds, model.itemIds())
    users.forEach((u, r) => {
      const single = model.recommend(u, { k })
      // The batch is one matrix product and a single user another: scores agree to float32
      // rounding, and near-ties may swap.
      t.true(sameRanking(batch.at(r), single), `${name} ${u}`)
      const padding = batch.items.subarray(r * k + single.length, (r + 1) * k)
      t.true(
        padding.every((i) => i === -1),
        'padded with -1',
      )
      t.true(Number.isNaN(batch.scores[(r + 1) * k - 1]!))
    })
    t.deepEqual([...batch], batch.toArray())
    t.throws(() => batch.at(users.length), INVALID)
    t.throws(() => batch.at(-1), INVALID)
    // A k far beyond the catalogue is capped, not allocated.
    const huge = await model.recommendBatch(users.slice(0, 2), { k: 1e12 })
    t.is(huge.k, model.numItems)
  })

  test(`${name}: score agrees with recommend`, async (t) => {
    const model = await fitted
    const user = userId(1, 2)
    const recs = model.recommend(user, { k: 5 })
    const scores = model.score(
      user,
      recs.map((r) => r.item),
    )
    recs.forEach((r, i) => t.true(close(scores[i]!, r.score), `${r.item}`))
    t.deepEqual(model.score(user, []), [])
    t.throws(() => model.score('nobody', [itemId(0, 0)]), { code: 'UNKNOWN_USER' })
    t.throws(() => model.score(user, ['nothing']), { code: 'UNKNOWN_ITEM' })
  })

  test(`${name}: similarItems is the one-item history, never the item itself`, async (t) => {
    const model = await fitted
    const item = itemId(2, 3)
    const similar = model.similarItems(item, { k: 4 })
    t.is(similar.length, 4)
    t.false(similar.some((r) => r.item === item))
    t.deepEqual(similar, model.recommendForHistory([item], { k: 4 }).items)
    // Items of the same block are the most similar on the checkerboard.
    t.true(similar.every((r) => board.blockOf(r.item) === 2))
    const only = model.similarItems(item, { include: [itemId(0, 0), itemId(2, 0)] })
    t.deepEqual(
      only.map((r) => r.item),
      [itemId(2, 0), itemId(0, 0)],
    )
    t.false(
      model
        .similarItems(item, { exclude: [similar[0]!.item] })
        .some((r) => r.item === similar[0]!.item),
    )
    t.throws(() => model.similarItems('nothing'), { code: 'UNKNOWN_ITEM' })
  })

  test(`${name}: explain splits the score and adds up`, async (t) => {
    const model = await fitted
    for (const u of [userId(0, 1), userId(2, 5)]) {
      for (const item of model.itemIds()) {
        const e = model.explain(u, item, { k: 1000 })
        t.true(close(e.metric + e.graph, e.score), `${name} ${u} ${item}`)
        const sum = e.contributions.reduce((a, c) => a + c.metric + c.graph, 0)
        t.true(close(sum, e.score), `${name} ${u} ${item}: contributions`)
        t.true(close(model.score(u, [item])[0]!, e.score))
        if (name === 'EASE') t.true(e.contributions.every((c) => c.graph === 0))
        if (name === 'GFCF') t.true(e.contributions.every((c) => c.metric === 0))
      }
    }
    const top = model.explain(userId(1, 0), itemId(1, 0), { k: 2 })
    t.is(top.contributions.length, 2)
    t.is(top.ignored, 0)
    const fresh = model.explain([itemId(1, 1), 'brand-new', itemId(1, 2)], itemId(1, 0))
    t.is(fresh.ignored, 1)
    t.deepEqual(fresh.contributions.map((c) => c.item).sort(), [itemId(1, 1), itemId(1, 2)])
    const empty = model.explain([], itemId(1, 0))
    t.deepEqual([empty.score, empty.contributions.length], [0, 0])
    t.throws(() => model.explain('nobody', itemId(0, 0)), { code: 'UNKNOWN_USER' })
    t.throws(() => model.explain(userId(0, 0), 'nothing'), { code: 'UNKNOWN_ITEM' })
  })
}

test('CoRML explanations name H and G parts, and the clamp', async (t) => {
  const model = await models.CoRML!
  const e = model.explain(userId(0, 0), board.withheld.get(userId(0, 0))!)
  t.true(e.metric !== 0)
  t.true(e.graph > 0, 'the withheld item of the block has a graph part')
  // Items of another block get no positive graph signal: the clamp sets the part to 0.
  const far = model.explain(userId(0, 0), itemId(2, 0))
  t.true(far.graph >= 0)
  t.true(far.contributions.every((c) => far.graph > 0 || c.graph === 0))
})

/** Values a plain JavaScript caller might pass where a string id, a list or options belong. */
// Not ids: a finite number is one (`42` is the id '42'), NaN and Infinity are not.
const JUNK: unknown[] = [undefined, null, NaN, Infinity, true, {}, [], () => 1, Symbol('x'), 10n]

test('hostile arguments to every serving method are INVALID_ARGUMENT, and the model survives', async (t) => {
  const model = (await models.CoRML!) as unknown as Record<string, (...a: unknown[]) => unknown>
  const user = userId(0, 0)
  const item = itemId(0, 0)
  const before = (await models.CoRML!).recommend(user)
  for (const junk of JUNK) {
    const what = typeof junk === 'symbol' ? 'symbol' : String(junk)
    const calls: [string, () => unknown][] = [
      ['recommend id', () => model.recommend!(junk)],
      ['score id', () => model.score!(junk, [item])],
      ['similarItems id', () => model.similarItems!(junk)],
      ['explain item', () => model.explain!(user, junk)],
    ]
    if (!Array.isArray(junk)) {
      calls.push(
        ['score list', () => model.score!(user, junk)],
        ['recommendForHistory list', () => model.recommendForHistory!(junk)],
      )
    }
    if (typeof junk !== 'string' && !Array.isArray(junk)) {
      calls.push(['explain who', () => model.explain!(junk, item)])
    }
    if (
      junk !== undefined &&
      !(typeof junk === 'object' && junk !== null && !Array.isArray(junk))
    ) {
      calls.push(
        ['recommend options', () => model.recommend!(user, junk)],
        ['similarItems options', () => model.similarItems!(item, junk)],
        ['explain options', () => model.explain!(user, item, junk)],
      )
    }
    for (const [name, call] of calls) t.throws(call, INVALID, `${name}: ${what}`)
    if (!Array.isArray(junk)) {
      await t.throwsAsync(
        Promise.resolve().then(() => model.recommendBatch!(junk)),
        INVALID,
        `recommendBatch: ${what}`,
      )
    }
  }
  for (const k of [0, -1, 1.5, NaN, Infinity, '5', null, 2 ** 60]) {
    t.throws(() => model.similarItems!(item, { k }), INVALID, `similar k ${String(k)}`)
    t.throws(() => model.explain!(user, item, { k }), INVALID, `explain k ${String(k)}`)
  }
  t.throws(() => model.score!(user, [item, NaN]), INVALID)
  t.throws(() => model.explain!([item, null], item), INVALID)
  t.throws(() => model.similarItems!(item, { nope: 1 }), INVALID)
  t.deepEqual((await models.CoRML!).recommend(user), before)
})

test('numeric ids are read as the strings JavaScript writes for them, everywhere', async (t) => {
  const data = Dataset.fromPairs([1, 1, 2, 2, 3, 3], [10, 11, 10, 12, 11, 12])
  const model = await EASE.fit(data, { regularization: 1, device: 'cpu' })
  t.deepEqual(model.recommend(1), model.recommend('1'))
  t.deepEqual(model.score(2, [11, 10]), model.score('2', ['11', '10']))
  t.deepEqual(model.similarItems(10), model.similarItems('10'))
  t.deepEqual(model.recommendForHistory([10]), model.recommendForHistory(['10']))
  t.deepEqual(model.explain(3, 10), model.explain('3', '10'))
  t.deepEqual(model.recommend(1, { exclude: [12] }), model.recommend('1', { exclude: ['12'] }))
  t.deepEqual(
    (await model.recommendBatch([1, 2])).toArray(),
    (await model.recommendBatch(['1', '2'])).toArray(),
  )
  t.throws(() => model.recommend(4), { code: 'UNKNOWN_USER' })
})
