import test from 'ava'

import { CoRML, Dataset, EASE, GFCF, type Recommendation, type Recommender } from '../src/index.js'
import {
  BLOCKS,
  FAST,
  checkerboard,
  itemId,
  randomDataset,
  randomPairs,
  userId,
  sameRanking,
} from './fixtures.js'

const board = checkerboard()
const models: Record<string, Promise<Recommender>> = {
  CoRML: CoRML.fit(board.data, { ...FAST, device: 'cpu' }),
  EASE: EASE.fit(board.data, { regularization: 10 }),
  GFCF: GFCF.fit(board.data, { eigenvectors: 4 }),
}

for (const [name, fitted] of Object.entries(models)) {
  test(`checkerboard: ${name} ranks every user's withheld item of their block first`, async (t) => {
    const model = await fitted
    for (const [user, withheld] of board.withheld) {
      const [first, second] = model.recommend(user, { k: 2 })
      t.is(first?.item, withheld, `user ${user}`)
      // The withheld item is the only unseen item of the block: it must beat every other block.
      t.true(first!.score > second!.score, `user ${user}: a clear winner`)
    }
  })

  test(`checkerboard: ${name} recommends a new history its block's missing item`, async (t) => {
    const model = await fitted
    const [, ni] = BLOCKS[1]!
    const history = Array.from({ length: ni - 1 }, (_, i) => itemId(1, i))
    const { items, ignored } = model.recommendForHistory(history, { k: 1 })
    t.is(ignored, 0)
    t.deepEqual(
      items.map((r) => r.item),
      [itemId(1, ni - 1)],
    )
  })
}

test('recommendations never contain seen items (every user, filterSeen by default)', async (t) => {
  const { users, items } = randomPairs(60, 40, 8, 3)
  const data = Dataset.fromPairs(users, items)
  const seen = new Map<string, Set<string>>()
  users.forEach((u, n) => seen.set(u, (seen.get(u) ?? new Set()).add(items[n]!)))
  const model = await CoRML.fit(data, FAST)
  const all = data.numItems
  for (const [u, mine] of seen) {
    const recs = model.recommend(u, { k: all })
    t.is(recs.length, all - mine.size, `user ${u}: every unseen item, no seen one`)
    t.false(
      recs.some((r) => mine.has(r.item)),
      `user ${u}`,
    )
    t.is(model.recommend(u, { k: all, filterSeen: false }).length, all)
  }
  const ids = [...seen.keys()]
  const batch = await model.recommendBatch(ids, { k: all })
  ids.forEach((u, n) =>
    t.false(
      batch.at(n).some((r) => seen.get(u)!.has(r.item)),
      `batch, ${u}`,
    ),
  )
})

test('seen items are exactly the training items', async (t) => {
  const model = await EASE.fit(board.data, { regularization: 10 })
  const [nu, ni] = BLOCKS[2]!
  for (let j = 0; j < nu; j++) {
    const recs = model.recommend(userId(2, j), { k: 1000 })
    const items = new Set(recs.map((r) => r.item))
    // Every item but the user's ni - 1 training items comes back.
    t.is(recs.length, board.data.numItems - (ni - 1))
    for (let i = 0; i < ni; i++) {
      t.is(items.has(itemId(2, i)), itemId(2, i) === board.withheld.get(userId(2, j)))
    }
  }
})

test('k larger than the item count returns every eligible item, best first', async (t) => {
  const model = await models.GFCF!
  const recs = model.recommend(userId(0, 0), { k: 10_000, filterSeen: false })
  t.is(recs.length, board.data.numItems)
  for (let i = 1; i < recs.length; i++) t.true(recs[i - 1]!.score >= recs[i]!.score)
  t.is(model.recommend(userId(0, 0)).length, 10, 'k defaults to 10')
})

test('exclude and include are honoured', async (t) => {
  const model = await models.CoRML!
  const user = userId(1, 3)
  const withheld = board.withheld.get(user)!
  const excluded = model.recommend(user, { k: 5, exclude: [withheld] })
  t.false(excluded.some((r) => r.item === withheld))
  t.is(excluded.length, 5)

  const include = [itemId(0, 1), itemId(2, 2), withheld, itemId(1, 0)]
  const included = model.recommend(user, { k: 10, include })
  // itemId(1, 0) is seen (filtered); the others come back, the withheld one first.
  t.deepEqual(included.map((r) => r.item).sort(), [itemId(0, 1), itemId(2, 2), withheld].sort())
  t.is(included[0]?.item, withheld)

  const both = model.recommend(user, { k: 10, include, exclude: [withheld] })
  t.deepEqual(both.map((r) => r.item).sort(), [itemId(0, 1), itemId(2, 2)].sort())
  t.deepEqual(model.recommend(user, { include: [] }), [], 'an empty include allows nothing')
})

test('recommendForHistory: a never-seen user with unknown items counts them', async (t) => {
  const model = await models.EASE!
  const history = [itemId(2, 0), 'no-such-item', itemId(2, 1), 'another-unknown', 'no-such-item']
  const { items, ignored } = model.recommendForHistory(history, { k: 5 })
  t.is(ignored, 3)
  t.is(items.length, 5)
  t.false(
    items.some((r) => r.item === itemId(2, 0) || r.item === itemId(2, 1)),
    'history filtered',
  )
  t.true(
    items.every((r) => r.item.startsWith('i2-')),
    'block 2 items first',
  )
  const unfiltered = model.recommendForHistory(history, { k: 100, filterSeen: false })
  t.true(unfiltered.items.some((r) => r.item === itemId(2, 0)))
  // Nothing known to score from: no items, or with the fallback the popular ones.
  t.deepEqual(model.recommendForHistory(['x', 'y'], { k: 3 }), {
    items: [],
    ignored: 2,
    popular: false,
  })
  t.deepEqual(model.recommendForHistory([], { k: 3 }), { items: [], ignored: 0, popular: false })
  const popular = model.recommendForHistory(['x'], { k: 3, fallback: 'popular' })
  t.true(popular.popular)
  t.deepEqual(popular.items, model.popularItems({ k: 3 }))
  t.deepEqual(model.recommendForHistory([], { k: 3, fallback: 'popular' }).items, popular.items)
})

test('popularItems: the most training interactions first, with the filters', async (t) => {
  const model = await models.EASE!
  // The checkerboard's counts: block b's item i is had by its users j but those with j % ni = i.
  const counts = new Map<string, number>()
  BLOCKS.forEach(([nu, ni], b) => {
    for (let i = 0; i < ni; i++) {
      const skipping = Array.from({ length: nu }, (_, j) => j).filter((j) => j % ni === i).length
      counts.set(itemId(b, i), nu - skipping)
    }
  })
  const top = model.popularItems({ k: 5 })
  t.is(top.length, 5)
  for (const r of top) t.is(r.score, counts.get(r.item) ?? -1)
  const best = Math.max(...counts.values())
  t.is(top[0]!.score, best)
  t.true(top.every((r, i) => i === 0 || top[i - 1]!.score >= r.score))
  const first = top[0]!.item
  t.false(model.popularItems({ k: 5, exclude: [first] }).some((r) => r.item === first))
  t.deepEqual(
    model.popularItems({ k: 5, include: [first, 'no-such-item'] }).map((r) => r.item),
    [first],
  )
  t.throws(() => model.popularItems({ include: ['no-such-item'], strict: true }), {
    code: 'UNKNOWN_ITEM',
  })
})

test('an unknown user gets UNKNOWN_USER, or the popular items with the fallback', async (t) => {
  const model = await models.CoRML!
  t.throws(() => model.recommend('nobody'), { code: 'UNKNOWN_USER' })
  t.deepEqual(
    model.recommend('nobody', { k: 4, fallback: 'popular' }),
    model.popularItems({ k: 4 }),
  )
  const batch = await model.recommendBatch([userId(0, 0), 'nobody'], {
    k: 4,
    fallback: 'popular',
  })
  t.deepEqual(batch.at(0), model.recommend(userId(0, 0), { k: 4 }))
  t.deepEqual(batch.at(1), model.popularItems({ k: 4 }))
  await t.throwsAsync(model.recommendBatch([userId(0, 0), 'nobody']), { code: 'UNKNOWN_USER' })
  t.throws(() => model.recommend('nobody', { fallback: 'trending' as never }), {
    code: 'INVALID_ARGUMENT',
  })
})

test('recommendBatch equals per-user recommend', async (t) => {
  for (const [name, fitted] of Object.entries(models)) {
    const model = await fitted
    const users = board.data.userIds()
    const options = { k: 7, exclude: [itemId(0, 0)] }
    const batch = await model.recommendBatch(users, options)
    t.is(batch.length, users.length)
    users.forEach((u, n) => {
      const single = model.recommend(u, options)
      t.true(sameRanking(single, batch.at(n)), `${name}, user ${u}`)
      t.is(batch.at(n)[0]?.item, single[0]?.item)
    })
  }
  t.deepEqual((await (await models.CoRML!).recommendBatch([])).toArray(), [])
})

test('info describes the training', async (t) => {
  const corml = await models.CoRML!
  const info = corml.info
  t.is(info.algorithm, 'corml')
  t.regex(info.backend, /^cpu/)
  t.deepEqual(info.partSizes, [board.data.numItems])
  t.true(info.nnz > 0)
  t.true(info.seconds >= 0)
  t.deepEqual(
    info.stages.map((s) => s.stage),
    ['svd', 'partition', 'gram', 'graph', 'factorize', 'admm', 'extract', 'sparsify'],
  )
  t.true(Object.isFrozen(info) && Object.isFrozen(info.stages))
  t.is(corml.info, info, 'computed once')
  t.is(corml.numUsers, board.data.numUsers)
  t.is(corml.numItems, board.data.numItems)
  t.is((await models.EASE!).info.algorithm, 'ease')
  t.is((await models.GFCF!).info.algorithm, 'gfcf')
})

test('partitionRatio splits the items into parts that cover them all', async (t) => {
  const data = randomDataset(80, 60, 6, 5)
  const model = await CoRML.fit(data, { ...FAST, partitionRatio: 0.4 })
  const parts = model.info.partSizes
  t.true(parts.length >= 3)
  t.true(parts.every((n) => n <= 0.4 * data.numItems))
  t.is(
    parts.reduce((a, b) => a + b, 0),
    data.numItems,
  )
})
