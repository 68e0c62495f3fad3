/**
 * The load test of the example service: starts `server.ts` on a model file in a child process,
 * fires a mix of valid and invalid requests at it with autocannon on 127.0.0.1, and reports
 * requests/s, latency, status codes and the server's resident memory before and after.
 *
 * ```sh
 * tsx examples/service/loadtest.ts [--model model.corml] [--duration 60] [--connections 100]
 * ```
 *
 * Without `--model` it trains CoRML on the embedded sample first. It exits 1 when any response
 * is a 5xx, when a response's status is not the one its request must get (200, 400 or 404), on
 * a connection error or timeout, or when the server dies: CI runs it for 10 s.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import autocannon from 'autocannon'

import { CoRML, Dataset, loadModel } from 'corml-native'
import { rng } from '../random.js'

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    duration: { type: 'string', default: '60' },
    connections: { type: 'string', default: '100' },
    seed: { type: 'string', default: '7' },
  },
})
const duration = Number(values.duration)
const connections = Number(values.connections)
if (!(duration > 0) || !(Number.isInteger(connections) && connections > 0)) {
  console.error('loadtest: --duration must be > 0 and --connections an integer > 0')
  process.exit(2)
}

/** A model file: the one given, or CoRML trained on the embedded sample. */
async function modelFile(): Promise<{ path: string; cleanup: () => void }> {
  if (values.model !== undefined) return { path: values.model, cleanup: () => {} }
  const dir = mkdtempSync(join(tmpdir(), 'corml-loadtest-'))
  const sample = fileURLToPath(new URL('../data/sample.tsv', import.meta.url))
  const model = await CoRML.fit(await Dataset.fromFile(sample), { device: 'cpu' })
  const path = join(dir, 'sample.corml')
  await model.save(path)
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Resident memory of a process, from `/proc` (Linux), in bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) * 1024
}

/** One request of the mix and the status it must get. */
interface Shot {
  kind: string
  method: 'GET' | 'POST'
  path: string
  body?: string
  expect: number
}

/** The request mix: mostly valid traffic, with every kind of bad input a client sends. */
function requestMix(users: readonly string[], items: readonly string[], seed: number): () => Shot {
  const random = rng(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const k = (): number => 1 + Math.floor(random() * 50)
  const enc = encodeURIComponent
  const history = (): string[] =>
    Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
      random() < 0.9 ? pick(items) : `unknown-${Math.floor(random() * 1e6)}`,
    )
  const kinds: [number, () => Shot][] = [
    [
      50,
      () => ({
        kind: 'user',
        method: 'GET',
        path: `/users/${enc(pick(users))}/recommendations?k=${k()}`,
        expect: 200,
      }),
    ],
    [
      10,
      () => ({
        kind: 'history',
        method: 'POST',
        path: '/recommendations',
        body: JSON.stringify({ history: history(), k: k() }),
        expect: 200,
      }),
    ],
    [
      10,
      () => ({
        kind: 'similar',
        method: 'GET',
        path: `/items/${enc(pick(items))}/similar?k=${k()}`,
        expect: 200,
      }),
    ],
    [
      5,
      () => ({
        kind: 'unknown user',
        method: 'GET',
        path: `/users/nobody-${Math.floor(random() * 1e6)}/recommendations`,
        expect: 404,
      }),
    ],
    [
      5,
      () => ({
        kind: 'unknown item',
        method: 'GET',
        path: `/items/nothing-${Math.floor(random() * 1e6)}/similar`,
        expect: 404,
      }),
    ],
    [
      5,
      () => ({
        kind: 'bad k',
        method: 'GET',
        path: `/users/${enc(pick(users))}/recommendations?k=${pick(['abc', '-1', '0', '1.5', '100000', 'NaN', '', '1e2', '20&k=30'])}`,
        expect: 400,
      }),
    ],
    [
      5,
      () => ({
        kind: 'bad json',
        method: 'POST',
        path: '/recommendations',
        body: pick(['{"history": [', 'null', '[]', '{"history": "x"}', '"text"']),
        expect: 400,
      }),
    ],
    [
      5,
      () => ({
        kind: 'bad body',
        method: 'POST',
        path: '/recommendations',
        body: JSON.stringify(
          pick([
            { history: [1, 2] },
            { history: ['a'], k: '7' },
            { k: 3 },
            { history: [], extra: 1 },
            { history: ['a'], k: 1001 },
          ]),
        ),
        expect: 400,
      }),
    ],
    [
      5,
      () => ({
        kind: 'no route',
        method: pick(['GET', 'POST'] as const),
        path: pick(['/', '/users', '/users/x/other', '/items/x/similar/more']),
        expect: 404,
      }),
    ],
  ]
  const total = kinds.reduce((a, [w]) => a + w, 0)
  return () => {
    let r = random() * total
    for (const [w, make] of kinds) {
      if ((r -= w) < 0) return make()
    }
    return kinds[0]![1]()
  }
}

/** Starts the server; resolves with its pid and URL once it listens. */
function startServer(
  path: string,
): Promise<{ pid: number; url: string; loadMs: number; stop: () => void; exited: () => boolean }> {
  const server = fileURLToPath(new URL('./server.ts', import.meta.url))
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', server, '--model', path, '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let exited = false
  child.on('exit', () => (exited = true))
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`server exited with ${code} before listening`)))
    createInterface({ input: child.stdout }).once('line', (line) => {
      const ready = JSON.parse(line) as { listening: string; loadMs: number; pid: number }
      resolve({
        pid: child.pid!,
        url: ready.listening,
        loadMs: ready.loadMs,
        stop: () => child.kill('SIGTERM'),
        exited: () => exited,
      })
    })
  })
}

async function main(): Promise<void> {
  const { path, cleanup } = await modelFile()
  const model = await loadModel(path)
  const next = requestMix(model.userIds(), model.itemIds(), Number(values.seed))
  const server = await startServer(path)
  console.log(`server ${server.url}: model loaded in ${server.loadMs.toFixed(0)} ms`)

  /** Mixed traffic for `seconds`, counting responses whose status is not the expected one. */
  const mismatches = new Map<string, number>()
  const fire = (seconds: number): Promise<autocannon.Result> =>
    autocannon({
      url: server.url,
      connections,
      duration: seconds,
      requests: [
        {
          setupRequest: (request, context) => {
            const shot = next()
            Object.assign(context, { shot })
            return {
              ...request,
              method: shot.method,
              path: shot.path,
              ...(shot.body === undefined
                ? {}
                : { body: shot.body, headers: { 'content-type': 'application/json' } }),
            }
          },
          onResponse: (status, _body, context) => {
            const shot = (context as { shot?: Shot }).shot
            if (shot !== undefined && status !== shot.expect) {
              const key = `${shot.kind} ${shot.method} ${shot.path} → ${status} (want ${shot.expect})`
              mismatches.set(key, (mismatches.get(key) ?? 0) + 1)
            }
          },
        },
      ],
    })

  // Warm up with the same traffic, so that the memory measured before is the steady state
  // (thread stacks, allocator arenas and the V8 heap grown to their working size).
  await fire(Math.min(5, duration))
  const rssBefore = rssOf(server.pid)
  const samples: number[] = []
  const sampler = setInterval(() => {
    if (!server.exited()) samples.push(rssOf(server.pid))
  }, 5000)
  const result = await fire(duration)
  clearInterval(sampler)
  const rssAfter = server.exited() ? NaN : rssOf(server.pid)
  const alive = !server.exited()
  server.stop()
  cleanup()

  const mib = (b: number): string => (b / 2 ** 20).toFixed(1)
  console.log(
    [
      `${duration} s, ${connections} connections: ${result.requests.total} requests, ` +
        `${result.requests.average.toFixed(0)} requests/s`,
      `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
      `status 2xx ${result['2xx']}, 4xx ${result['4xx']}, 5xx ${result['5xx']}; ` +
        `connection errors ${result.errors}, timeouts ${result.timeouts}`,
      `server RSS ${mib(rssBefore)} MiB before, ${mib(rssAfter)} MiB after ` +
        `(every 5 s: ${samples.map(mib).join(', ')}); alive: ${alive}`,
    ].join('\n'),
  )
  for (const [what, count] of mismatches) console.log(`unexpected: ${what} ×${count}`)
  const ok =
    alive &&
    result['5xx'] === 0 &&
    result.errors === 0 &&
    result.timeouts === 0 &&
    mismatches.size === 0 &&
    result['2xx'] > 0
  console.log(ok ? 'load test passed' : 'load test FAILED')
  process.exit(ok ? 0 : 1)
}

await main()
