import test from 'ava'

import { buildServer } from '../examples/service/server.js'
import { CoRML } from '../src/index.js'
import { FAST, checkerboard, itemId, userId } from './fixtures.js'

const board = checkerboard()
const app = CoRML.fit(board.data, { ...FAST, device: 'cpu' }).then(buildServer)
test.after.always(async () => (await app).close())

interface Reply {
  status: number
  body: Record<string, unknown>
}

async function call(method: 'GET' | 'POST', url: string, payload?: string): Promise<Reply> {
  const res = await (
    await app
  ).inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload, headers: { 'content-type': 'application/json' } }),
  })
  return { status: res.statusCode, body: res.json() }
}

test('valid requests get recommendations', async (t) => {
  const user = await call('GET', `/users/${userId(1, 2)}/recommendations?k=3`)
  t.is(user.status, 200)
  t.is((user.body.items as unknown[]).length, 3)
  const fresh = await call(
    'POST',
    '/recommendations',
    JSON.stringify({ history: [itemId(0, 1), 'unknown-item'], k: 2 }),
  )
  t.is(fresh.status, 200)
  t.is(fresh.body.ignored, 1)
  const similar = await call('GET', `/items/${itemId(2, 0)}/similar?k=4`)
  t.is(similar.status, 200)
  t.is((similar.body.items as unknown[]).length, 4)
  const health = await call('GET', '/healthz')
  t.is(health.body.ok, true)
})

test('unknown users and items are 404 with a coded JSON error', async (t) => {
  for (const [url, code] of [
    ['/users/nobody/recommendations', 'UNKNOWN_USER'],
    ['/items/nothing/similar', 'UNKNOWN_ITEM'],
    ['/no/such/route', 'NOT_FOUND'],
  ] as const) {
    const r = await call('GET', url)
    t.is(r.status, 404, url)
    t.is((r.body.error as { code: string }).code, code, url)
  }
})

test('bad input is a 400 with a coded JSON error, never a 500', async (t) => {
  const user = userId(0, 0)
  const cases: [string, 'GET' | 'POST', string, string?][] = [
    ['k letters', 'GET', `/users/${user}/recommendations?k=abc`],
    ['k zero', 'GET', `/users/${user}/recommendations?k=0`],
    ['k negative', 'GET', `/users/${user}/recommendations?k=-5`],
    ['k fraction', 'GET', `/users/${user}/recommendations?k=1.5`],
    ['k huge', 'GET', `/users/${user}/recommendations?k=1000000`],
    ['k twice', 'GET', `/users/${user}/recommendations?k=2&k=3`],
    ['filterSeen', 'GET', `/users/${user}/recommendations?filterSeen=maybe`],
    ['unknown query', 'GET', `/items/${itemId(0, 0)}/similar?sort=asc`],
    ['broken JSON', 'POST', '/recommendations', '{"history": ['],
    ['null body', 'POST', '/recommendations', 'null'],
    ['array body', 'POST', '/recommendations', '[]'],
    ['history string', 'POST', '/recommendations', '{"history": "x"}'],
    ['history numbers', 'POST', '/recommendations', '{"history": [1, 2]}'],
    ['k string', 'POST', '/recommendations', '{"history": ["a"], "k": "7"}'],
    ['no history', 'POST', '/recommendations', '{"k": 3}'],
    ['extra field', 'POST', '/recommendations', '{"history": [], "x": 1}'],
  ]
  for (const [what, method, url, payload] of cases) {
    const r = await call(method, url, payload)
    t.is(r.status, 400, what)
    const error = r.body.error as { code: string; message: string }
    t.is(typeof error.code, 'string', what)
    t.true(error.message.length > 0, what)
  }
  const tooLong = JSON.stringify({ history: Array.from({ length: 10_001 }, () => 'a') })
  t.is((await call('POST', '/recommendations', tooLong)).status, 400)
})
