/**
 * The load test of the example service: starts the cluster service (`server.ts`) on a model file,
 * fires a mix of valid and invalid requests at it with autocannon on 127.0.0.1, optionally swaps
 * the model every few seconds through `POST /admin/reload`, and reports requests/s, latency,
 * status codes, swaps and the memory of the service's processes.
 *
 * ```sh
 * tsx examples/service/loadtest.ts [--model model.corml] [--duration 60] [--connections 100]
 *   [--workers N] [--swap-every 10] [--no-mmap] [--json]
 * ```
 *
 * Without `--model` it trains CoRML on the embedded sample first. Its figures check themselves:
 * by Little's law, requests/s × mean latency must equal the open connections (each connection
 * has one request in flight), and the server's own count and mean latency (from `/metrics`) must
 * agree with the client's. It exits 1 when a check fails, when any response is a 5xx or not the
 * status its request must get, on a connection error or timeout, when a swap fails (a corrupt
 * file, tried once, must be refused with 422 while the load runs), or when the service dies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

import autocannon from 'autocannon'

import { CoRML, Dataset, loadModel } from 'corml-native'
import { rng } from '../random.js'

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

/** Memory of a set of processes, in bytes: resident (shared pages counted in each) and proportional. */
export interface Memory {
  /** Σ VmRSS: a page shared by n processes counts n times. */
  rss: number
  /** Σ Pss: a page shared by n processes counts 1/n in each, so the sum is what they use. */
  pss: number
  processes: number
}

/** The pids of `pid` and all its descendants (Linux `/proc`). */
export function processTree(pid: number): number[] {
  const out = [pid]
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8')
      for (const c of children.trim().split(/\s+/)) if (c !== '') out.push(Number(c))
    } catch {
      // The process exited meanwhile.
    }
  }
  return out
}

/** Σ RSS and Σ PSS of `pids`, from `/proc/<pid>/smaps_rollup`. */
export function memoryOf(pids: readonly number[]): Memory {
  let rss = 0
  let pss = 0
  let processes = 0
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      rss += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024
      processes++
    } catch {
      // The process exited meanwhile.
    }
  }
  return { rss, pss, processes }
}

/** One process's memory, and what of it is one file's mapping, in bytes (`/proc/<pid>/smaps`). */
export interface FileMemory {
  /** Pages only this process holds (Private_Clean + Private_Dirty over every mapping). */
  private: number
  /** The file's mapping: its resident pages, their proportional share, and the private ones. */
  mapping: { rss: number; pss: number; private: number }
}

/** `pid`'s private memory and its mapping of `file` (an absolute path), from `/proc/<pid>/smaps`. */
export function fileMemoryOf(pid: number, file: string): FileMemory {
  const out: FileMemory = { private: 0, mapping: { rss: 0, pss: 0, private: 0 } }
  let inFile = false
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    // A mapping's header: `start-end perms offset dev inode [path]`.
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (header !== null) {
      inFile = header[1] === file
      continue
    }
    const field = /^(\w+):\s+(\d+) kB/.exec(line)
    if (field === null) continue
    const bytes = Number(field[2]) * 1024
    if (field[1] === 'Private_Clean' || field[1] === 'Private_Dirty') {
      out.private += bytes
      if (inFile) out.mapping.private += bytes
    } else if (inFile && field[1] === 'Rss') out.mapping.rss += bytes
    else if (inFile && field[1] === 'Pss') out.mapping.pss += bytes
  }
  return out
}

/** A running cluster service. */
export interface Service {
  url: string
  pid: number
  workerPids: number[]
  /** Milliseconds the first worker took to load the model. */
  loadMs: number
  token: string
  child: ChildProcess
  exited: () => boolean
  /** Stops it with SIGTERM; resolves with its exit code. */
  stop: () => Promise<number | null>
}

/** Starts the cluster service on `model`; resolves once every worker listens. */
export function startService(
  model: string,
  options: { workers?: number; mmap?: boolean; args?: string[] } = {},
): Promise<Service> {
  const script = fileURLToPath(new URL('./server.ts', import.meta.url))
  const token = `load-${process.pid}-${Date.now()}`
  const args = [script, '--model', model, '--port', '0', '--log-level', 'info']
  if (options.workers !== undefined) args.push('--workers', String(options.workers))
  if (options.mmap === false) args.push('--no-mmap')
  const child = spawn(process.execPath, ['--import', 'tsx', ...args, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CORML_ADMIN_TOKEN: token },
  })
  let exited = false
  const exit = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      exited = true
      r(code)
    }),
  )
  return new Promise((resolve, reject) => {
    void exit.then((code) =>
      reject(new Error(`the service exited with ${code} before it was ready`)),
    )
    // Log lines are JSON (pino); the primary's `ready` line says where it listens.
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        process.stderr.write(`${line}\n`)
        return
      }
      if (entry.msg !== 'ready') {
        if (Number(entry.level) >= 40) process.stderr.write(`${line}\n`)
        return
      }
      resolve({
        url: String(entry.listening),
        pid: child.pid!,
        workerPids: entry.workerPids as number[],
        loadMs: Number(entry.loadMs),
        token,
        child,
        exited: () => exited,
        stop: () => {
          child.kill('SIGTERM')
          return exit
        },
      })
    })
  })
}

/** Request count and total seconds of the service's latency histogram, from `/metrics`. */
async function serverLatency(url: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  let count = 0
  let sum = 0
  for (const m of text.matchAll(
    /^corml_http_request_duration_seconds_(count|sum)\{[^}]*route="([^"]*)"[^}]*\} (\S+)$/gm,
  )) {
    // The load test's own calls (/metrics, /admin) are not the load.
    if (m[2] === '/metrics' || m[2]!.startsWith('/admin')) continue
    if (m[1] === 'count') count += Number(m[3])
    else sum += Number(m[3])
  }
  return { count, sum }
}

/** A latency distribution, in milliseconds. */
export interface Latency {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** Mean, percentiles and maximum of `values`. */
export function summary(values: readonly number[]): Latency {
  const sorted = Float64Array.from(values).sort()
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.at(-1) ?? NaN,
  }
}

/** One swap during the load. */
export interface Swap {
  atSeconds: number
  path: string
  status: number
  ms: number
  /** Whether it had the outcome it must have (200, or 422 for the corrupt file). */
  ok: boolean
  memory: Memory
}

/** What {@link loadTest} measured. */
export interface LoadReport {
  seconds: number
  connections: number
  workers: number
  requests: number
  requestsPerSecond: number
  /** Latency in milliseconds, timed by the load test (not autocannon's whole milliseconds). */
  latencyMs: Latency
  status: { '2xx': number; '4xx': number; '5xx': number }
  errors: number
  timeouts: number
  mismatches: Record<string, number>
  /**
   * Little's law: requests/s × mean latency ÷ connections, 1 when the figures agree (each
   * connection has one request in flight at all times).
   */
  littleRatio: number
  /** The service's own figures over the same window, from its `/metrics`. */
  server: { requests: number; meanMs: number }
  loadMs: number
  memory: { before: Memory; after: Memory; samples: Memory[] }
  swaps: Swap[]
  alive: boolean
  /** Why the run failed, empty when it passed. */
  failures: string[]
}

/** Options of {@link loadTest}. */
export interface LoadOptions {
  model: string
  seconds: number
  connections: number
  workers?: number
  mmap?: boolean
  /** Seconds between swaps (alternating between two copies of the model); 0 for none. */
  swapEvery?: number
  warmupSeconds?: number
  seed?: number
}

/** Runs the load test against a fresh cluster service and checks its own figures. */
export async function loadTest(options: LoadOptions): Promise<LoadReport> {
  const dir = mkdtempSync(join(tmpdir(), 'corml-loadtest-'))
  try {
    // Two copies, so that each swap loads another file (another inode, other pages).
    const copies = [join(dir, 'a.corml'), join(dir, 'b.corml')]
    for (const c of copies) copyFileSync(options.model, c)
    const corrupt = join(dir, 'corrupt.corml')
    writeFileSync(corrupt, readFileSync(options.model).subarray(0, 4096))
    const model = await loadModel(options.model)
    const next = requestMix(model.userIds(), model.itemIds(), options.seed ?? 7)
    const service = await startService(copies[0]!, {
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      ...(options.mmap === undefined ? {} : { mmap: options.mmap }),
    })
    const mismatches: Record<string, number> = {}
    // autocannon's latency histogram holds whole milliseconds (each value truncated, so its
    // mean is about 0.5 ms low): the latencies are timed here instead, from building a request
    // (right before autocannon writes it) to its response.
    let latencies: number[] = []
    const fire = (seconds: number): Promise<autocannon.Result> =>
      autocannon({
        url: service.url,
        connections: options.connections,
        duration: seconds,
        requests: [
          {
            setupRequest: (request, context) => {
              const shot = next()
              Object.assign(context, { shot, sentAt: performance.now() })
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
              const { shot, sentAt } = context as { shot?: Shot; sentAt?: number }
              if (sentAt !== undefined) latencies.push(performance.now() - sentAt)
              if (shot !== undefined && status !== shot.expect) {
                const key = `${shot.kind} ${shot.method} ${shot.path} → ${status} (want ${shot.expect})`
                mismatches[key] = (mismatches[key] ?? 0) + 1
              }
            },
          },
        ],
      })

    // Warm up with the same traffic, so that the memory measured before is the steady state
    // (thread stacks, allocator arenas and the V8 heaps grown to their working size).
    await fire(options.warmupSeconds ?? Math.min(5, options.seconds))
    const tree = () => memoryOf(processTree(service.pid))
    const before = tree()
    const samples: Memory[] = []
    const sampler = setInterval(() => samples.push(tree()), 5000)
    const swaps: Swap[] = []
    const started = performance.now()
    const swapEvery = options.swapEvery ?? 0
    let swapper: ReturnType<typeof setInterval> | undefined
    if (swapEvery > 0) {
      let n = 0
      swapper = setInterval(() => {
        n++
        // The third swap tries a corrupt file: refused (422) while the old model serves on.
        const path = n === 3 ? corrupt : copies[n % 2]!
        const t0 = performance.now()
        void fetch(`${service.url}/admin/reload`, {
          method: 'POST',
          headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ path }),
        })
          .then(
            (res) => ({ status: res.status, ms: performance.now() - t0 }),
            () => ({ status: 0, ms: performance.now() - t0 }),
          )
          // Memory is read a second after the swap: by then the old model's last requests are
          // done and it is released (right at the reply both models are resident).
          .then(async ({ status, ms }) => {
            await new Promise((r) => setTimeout(r, 1000))
            swaps.push({
              atSeconds: (t0 - started) / 1000,
              path: path === corrupt ? 'corrupt' : path.endsWith('a.corml') ? 'a' : 'b',
              status,
              ms,
              ok: status === (path === corrupt ? 422 : 200),
              memory: tree(),
            })
          })
      }, swapEvery * 1000)
    }
    latencies = []
    const serverBefore = await serverLatency(service.url)
    const result = await fire(options.seconds)
    const serverAfter = await serverLatency(service.url)
    clearInterval(sampler)
    if (swapper !== undefined) clearInterval(swapper)
    // A swap started near the end finishes (and is measured) before the figures are read.
    await new Promise((r) => setTimeout(r, 1500))
    const after = tree()
    const alive = !service.exited()
    const code = await service.stop()

    const seconds = result.duration
    const rps = result.requests.total / seconds
    const latency = summary(latencies)
    const littleRatio = (rps * (latency.mean / 1000)) / options.connections
    const serverRequests = serverAfter.count - serverBefore.count
    const server = {
      requests: serverRequests,
      meanMs: ((serverAfter.sum - serverBefore.sum) / serverRequests) * 1000,
    }
    const failures: string[] = []
    if (!alive) failures.push('the service died')
    if (code !== 0) failures.push(`the service exited with ${code} on SIGTERM`)
    if (result['5xx'] > 0) failures.push(`${result['5xx']} responses were 5xx`)
    if (result.errors > 0 || result.timeouts > 0)
      failures.push(`${result.errors} connection errors, ${result.timeouts} timeouts`)
    if (Object.keys(mismatches).length > 0) failures.push('responses with the wrong status')
    if (result['2xx'] === 0) failures.push('no 2xx response')
    if (Math.abs(littleRatio - 1) > 0.05)
      failures.push(
        `Little's law fails: ${rps.toFixed(0)} requests/s × ${latency.mean.toFixed(2)} ms = ` +
          `${(littleRatio * options.connections).toFixed(1)} requests in flight, not ${options.connections}`,
      )
    // The server counts what the client sent in the window, give or take what was in flight
    // at its edges, and its latency (arrival to response) cannot exceed the client's.
    if (
      Math.abs(serverRequests - result.requests.total) >
      2 * options.connections + 0.01 * serverRequests
    )
      failures.push(
        `the server counted ${serverRequests} requests, the client ${result.requests.total}`,
      )
    if (server.meanMs > latency.mean * 1.05)
      failures.push(
        `the server's mean latency ${server.meanMs.toFixed(2)} ms exceeds the client's ${latency.mean.toFixed(2)} ms`,
      )
    if (latency.count !== result.requests.total)
      failures.push(`${latency.count} latencies timed for ${result.requests.total} responses`)
    const swapsWanted =
      swapEvery > 0
        ? Math.floor(options.seconds / swapEvery) - (options.seconds % swapEvery === 0 ? 1 : 0)
        : 0
    if (swaps.some((s) => !s.ok)) failures.push('a swap failed')
    if (swaps.length < swapsWanted)
      failures.push(`${swaps.length} swaps done, ${swapsWanted} wanted`)
    return {
      seconds,
      connections: options.connections,
      workers: service.workerPids.length,
      requests: result.requests.total,
      requestsPerSecond: rps,
      latencyMs: latency,
      status: { '2xx': result['2xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
      errors: result.errors,
      timeouts: result.timeouts,
      mismatches,
      littleRatio,
      server,
      loadMs: service.loadMs,
      memory: { before, after, samples },
      swaps,
      alive,
      failures,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A model file: the one given, or CoRML trained on the embedded sample. */
async function sampleModel(dir: string): Promise<string> {
  const sample = fileURLToPath(new URL('../data/sample.tsv', import.meta.url))
  const model = await CoRML.fit(await Dataset.fromFile(sample), { device: 'cpu' })
  const path = join(dir, 'sample.corml')
  await model.save(path)
  return path
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1)

/** The report as lines of text. */
export function describe(r: LoadReport): string {
  const lines = [
    `${r.seconds.toFixed(1)} s, ${r.connections} connections, ${r.workers} workers: ` +
      `${r.requests} requests, ${r.requestsPerSecond.toFixed(0)} requests/s`,
    `latency mean ${r.latencyMs.mean.toFixed(2)} ms, p50 ${r.latencyMs.p50.toFixed(2)} ms, ` +
      `p90 ${r.latencyMs.p90.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms`,
    `Little's law: ${r.requestsPerSecond.toFixed(0)}/s × ${r.latencyMs.mean.toFixed(2)} ms = ` +
      `${(r.littleRatio * r.connections).toFixed(1)} in flight for ${r.connections} connections ` +
      `(ratio ${r.littleRatio.toFixed(3)})`,
    `server side: ${r.server.requests} requests, mean ${r.server.meanMs.toFixed(2)} ms (arrival to response)`,
    `status 2xx ${r.status['2xx']}, 4xx ${r.status['4xx']}, 5xx ${r.status['5xx']}; ` +
      `connection errors ${r.errors}, timeouts ${r.timeouts}`,
    `memory of the service's ${r.memory.before.processes} processes: RSS ${mib(r.memory.before.rss)} → ` +
      `${mib(r.memory.after.rss)} MiB, PSS ${mib(r.memory.before.pss)} → ${mib(r.memory.after.pss)} MiB`,
  ]
  for (const s of r.swaps)
    lines.push(
      `swap at ${s.atSeconds.toFixed(1)} s to ${s.path}: ${s.status} in ${s.ms.toFixed(0)} ms` +
        `${s.ok ? '' : ' (FAILED)'}; RSS ${mib(s.memory.rss)} MiB, PSS ${mib(s.memory.pss)} MiB`,
    )
  for (const [what, count] of Object.entries(r.mismatches))
    lines.push(`unexpected: ${what} ×${count}`)
  for (const f of r.failures) lines.push(`FAILED: ${f}`)
  return lines.join('\n')
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      duration: { type: 'string', default: '60' },
      connections: { type: 'string', default: '100' },
      workers: { type: 'string' },
      'swap-every': { type: 'string', default: '0' },
      'no-mmap': { type: 'boolean', default: false },
      seed: { type: 'string', default: '7' },
      json: { type: 'boolean', default: false },
    },
  })
  const seconds = Number(values.duration)
  const connections = Number(values.connections)
  const swapEvery = Number(values['swap-every'])
  const workers = values.workers === undefined ? undefined : Number(values.workers)
  if (
    !(seconds > 0) ||
    !(Number.isInteger(connections) && connections > 0) ||
    !(swapEvery >= 0) ||
    (workers !== undefined && !(Number.isInteger(workers) && workers > 0))
  ) {
    console.error(
      'loadtest: --duration must be > 0, --connections and --workers integers > 0, --swap-every ≥ 0',
    )
    process.exit(2)
  }
  const dir = mkdtempSync(join(tmpdir(), 'corml-loadtest-model-'))
  try {
    const model = values.model ?? (await sampleModel(dir))
    const report = await loadTest({
      model,
      seconds,
      connections,
      swapEvery,
      mmap: !values['no-mmap'],
      seed: Number(values.seed),
      ...(workers === undefined ? {} : { workers }),
    })
    console.log(values.json ? JSON.stringify(report, null, 2) : describe(report))
    console.log(report.failures.length === 0 ? 'load test passed' : 'load test FAILED')
    process.exitCode = report.failures.length === 0 ? 0 : 1
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
