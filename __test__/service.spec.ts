import { spawn } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

import test from 'ava'

import { buildServer } from '../examples/service/app.js'
import { CoRML, EASE, ModelServer } from '../src/index.js'
import { FAST, checkerboard, itemId, sameRanking, tempDir, userId } from './fixtures.js'
import type { Recommendation } from '../src/index.js'

const board = checkerboard()
const TOKEN = 'test-token'
const files = tempDir()
test.after.always(() => files.cleanup())
const fitted = CoRML.fit(board.data, { ...FAST, device: 'cpu' })
const served = fitted.then(async (model) => {
  const server = ModelServer.of(model)
  const path = join(files.dir, 'model.corml')
  await model.save(path)
  const app = buildServer(server, {
    admin: { token: TOKEN, reload: async (p) => server.swap(p ?? path).then(() => ({ path: p })) },
  })
  return { app, server, path }
})
const app = served.then((s) => s.app)
test.after.always(async () => (await app).close())

interface Reply {
  status: number
  body: Record<string, unknown>
}

async function call(
  method: 'GET' | 'POST',
  url: string,
  payload?: string,
  headers: Record<string, string> = {},
): Promise<Reply & { headers: Record<string, unknown> }> {
  const res = await (
    await app
  ).inject({
    method,
    url,
    headers: {
      ...headers,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(payload === undefined ? {} : { payload }),
  })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

const admin = { authorization: `Bearer ${TOKEN}` }

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

test('an unknown user gets the popular items with fallback=popular, from the batched path', async (t) => {
  const model = await fitted
  const r = await call('GET', '/users/nobody/recommendations?k=3&fallback=popular')
  t.is(r.status, 200)
  t.deepEqual(r.body.items, model.popularItems({ k: 3 }))
  const fresh = await call(
    'POST',
    '/recommendations',
    '{"history": [], "k": 2, "fallback": "popular"}',
  )
  t.deepEqual(fresh.body.items, model.popularItems({ k: 2 }))
  t.is((await call('GET', '/users/nobody/recommendations?fallback=sometimes')).status, 400)
})

test('/metrics is Prometheus text with latency histograms per route and the server counters', async (t) => {
  await call('GET', `/users/${userId(0, 1)}/recommendations?k=2`)
  const res = await (await app).inject({ method: 'GET', url: '/metrics' })
  t.is(res.statusCode, 200)
  t.regex(String(res.headers['content-type']), /^text\/plain/)
  t.regex(
    res.body,
    /corml_http_request_duration_seconds_count\{method="GET",route="\/users\/:id\/recommendations",status="200"\} [1-9]/,
  )
  t.regex(res.body, /corml_model_server_batches_total [1-9]/)
  t.true(res.body.includes(`corml_model_items ${(await fitted).numItems}\n`))
  t.regex(res.body, /process_resident_memory_bytes [1-9]/)
})

test('admin endpoints need the token; a reload to a missing or corrupt file is refused and the old model serves on', async (t) => {
  const { server, path } = await served
  const before = server.model
  const url = `/users/${userId(1, 0)}/recommendations?k=3`
  const expected = (await call('GET', url)).body.items as Recommendation[]
  t.is((await call('POST', '/admin/reload', '{}')).status, 401)
  t.is((await call('POST', '/admin/reload', '{}', { authorization: 'Bearer wrong' })).status, 401)
  const corrupt = files.write('corrupt.corml', readFileSync(path).subarray(0, 1000))
  for (const [file, code] of [
    [join(files.dir, 'missing.corml'), 'IO_ERROR'],
    [corrupt, 'INVALID_MODEL_FILE'],
  ] as const) {
    const r = await call('POST', '/admin/reload', JSON.stringify({ path: file }), admin)
    t.is(r.status, 422, code)
    t.is((r.body.error as { code: string }).code, code)
    t.is(server.model, before)
    t.true(sameRanking((await call('GET', url)).body.items as Recommendation[], expected, 1e-5))
  }
  t.is((await call('POST', '/admin/reload', '{"path": 3}', admin)).status, 400)
  const ok = await call('POST', '/admin/reload', '{}', admin)
  t.is(ok.status, 200)
  t.not(server.model, before)
  t.is(server.stats().swaps, 1)
  t.true(sameRanking((await call('GET', url)).body.items as Recommendation[], expected, 1e-5))
})

test('a full queue is a 503 with Retry-After and a coded body', async (t) => {
  const model = await EASE.fit(board.data, { regularization: 1, device: 'cpu' })
  const small = buildServer(ModelServer.of(model, { maxQueue: 2, maxWaitMs: 20 }))
  const replies = await Promise.all(
    Array.from({ length: 6 }, () =>
      small.inject({ method: 'GET', url: `/users/${userId(0, 0)}/recommendations` }),
    ),
  )
  const refused = replies.filter((r) => r.statusCode === 503)
  t.is(refused.length, 4)
  t.is(refused[0]!.headers['retry-after'], '1')
  t.is(refused[0]!.json().error.code, 'OVERLOADED')
  t.is(replies.filter((r) => r.statusCode === 200).length, 2)
  await small.close()
})

test('/healthz is 503 while the process drains', async (t) => {
  let draining = false
  const own = buildServer(ModelServer.of(await fitted), { draining: () => draining })
  t.is((await own.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  draining = true
  const r = await own.inject({ method: 'GET', url: '/healthz' })
  t.is(r.statusCode, 503)
  t.is(r.json().draining, true)
  await own.close()
})

/** Starts the cluster service; resolves when its primary logs that every worker listens. */
function startCluster(args: string[], env: Record<string, string>) {
  const script = fileURLToPath(new URL('../examples/service/server.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  })
  const logs: Record<string, unknown>[] = []
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const ready = new Promise<{ listening: string; workerPids: number[] }>((resolve, reject) => {
    void exited.then((code) => reject(new Error(`service exited with ${code}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>
      logs.push(entry)
      if (entry.msg === 'ready') resolve(entry as never)
    })
  })
  return { child, ready, exited, logs }
}

test('the cluster service: workers serve, a retrain swaps everywhere, a dead worker is replaced, SIGTERM stops cleanly', async (t) => {
  t.timeout(90_000)
  const dir = tempDir()
  t.teardown(() => dir.cleanup())
  const model = join(dir.dir, 'model.corml')
  copyFileSync((await served).path, model)
  const data = dir.write(
    'data.tsv',
    'user\titem\n' + board.pairs.map(([u, i]) => `${u}\t${i}`).join('\n'),
  )
  const service = startCluster(
    ['--model', model, '--data', data, '--port', '0', '--workers', '2', '--log-level', 'info'],
    { CORML_ADMIN_TOKEN: TOKEN },
  )
  t.teardown(() => service.child.kill('SIGKILL'))
  const { listening, workerPids } = await service.ready
  t.is(workerPids.length, 2)
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${listening}${path}`, init)
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const post = (path: string, body: unknown) =>
    get(path, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  t.is((await get(`/users/${userId(0, 0)}/recommendations?k=2`)).status, 200)
  const health = await get('/healthz')
  t.is(health.body.mapped, true)
  // A corrupt file is refused by every worker, and they keep serving.
  const corrupt = dir.write('corrupt.corml', 'not a model')
  const refused = await post('/admin/reload', { path: corrupt })
  t.is(refused.status, 422)
  t.is((refused.body.error as { code: string }).code, 'INVALID_MODEL_FILE')
  t.is((await get(`/users/${userId(0, 0)}/recommendations?k=2`)).status, 200)
  // Retraining runs in a child of the primary and swaps the result into both workers.
  t.is((await post('/admin/retrain', {})).status, 202)
  t.is((await post('/admin/retrain', {})).status, 409)
  let state: Record<string, unknown> = {}
  for (let i = 0; i < 300 && state.state !== 'succeeded' && state.state !== 'failed'; i++) {
    await new Promise((r) => setTimeout(r, 200))
    state = (await get('/admin/retrain', { headers: admin })).body.retrain as Record<
      string,
      unknown
    >
  }
  t.is(state.state, 'succeeded', JSON.stringify(state))
  const metrics = await (await fetch(`${listening}/metrics`)).text()
  // Summed over both workers: each swapped once.
  t.regex(metrics, /corml_model_server_swaps_total 2/)
  // A worker killed is forked again, and the service keeps answering.
  process.kill(workerPids[0]!, 'SIGKILL')
  // The primary logs `ready` again once the new worker listens.
  const readies = () => service.logs.filter((l) => l.msg === 'ready').length
  for (let i = 0; i < 200 && readies() < 2; i++) await new Promise((r) => setTimeout(r, 100))
  t.is(readies(), 2)
  t.true(service.logs.some((l) => l.msg === 'worker died; forking another'))
  t.is((await get(`/items/${itemId(0, 0)}/similar?k=2`)).status, 200)
  service.child.kill('SIGTERM')
  t.is(await service.exited, 0)
  t.true(service.logs.some((l) => l.msg === 'stopped'))
})
