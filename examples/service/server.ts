/**
 * The example recommendation service: a `node:cluster` primary and one worker per core, each
 * serving the same model file through a {@link ModelServer} (mapped, so the workers share its
 * pages). The routes are in `app.ts`.
 *
 * - **Hot swap.** `POST /admin/reload` (or `SIGHUP` to the primary) makes every worker load the
 *   model file again and switch to it while requests are in flight; a file that cannot be
 *   served is refused and the old model keeps serving.
 * - **Retraining.** With `--data`, `POST /admin/retrain` trains the served algorithm again with
 *   its settings in a child process of the primary (`train.ts`), outside the serving path, saves
 *   over the model file atomically and swaps it in everywhere.
 * - **Crashes.** A worker that dies is forked again (at most 5 times a minute).
 * - **Shutdown.** On `SIGTERM` or `SIGINT`, `/healthz` turns 503 for `--drain-ms`, then each
 *   worker stops accepting, finishes its requests and exits; past `--shutdown-timeout-ms` the
 *   workers are killed.
 * - **Threads.** Each worker scores on `--serving-threads` threads (default: the cores shared
 *   out between the workers); a retraining runs on `--train-threads` (default: the library's).
 * - **Logs.** JSON lines on stdout (pino, Fastify's logger); requests too with `--log-requests`.
 *   When every worker listens, the primary logs `{"msg":"ready","listening":…}`.
 *
 * ```sh
 * CORML_ADMIN_TOKEN=secret tsx examples/service/server.ts --model model.corml \
 *   [--data interactions.tsv] [--port 3000] [--host 127.0.0.1] [--workers N] [--no-mmap]
 * ```
 */
import { spawn } from 'node:child_process'
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { pino } from 'pino'
import { AggregatorRegistry } from 'prom-client'

import { ModelServer } from 'corml-native'

import { buildServer } from './app.js'
import {
  RemoteError,
  answer,
  ask,
  isReady,
  wireError,
  type PrimaryCall,
  type WorkerCall,
} from './ipc.js'

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    port: { type: 'string', default: '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    workers: { type: 'string', default: String(availableParallelism()) },
    'no-mmap': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    'log-requests': { type: 'boolean', default: false },
    'drain-ms': { type: 'string', default: '0' },
    'shutdown-timeout-ms': { type: 'string', default: '10000' },
    'train-threads': { type: 'string' },
    'serving-threads': { type: 'string' },
  },
})
const usage =
  'usage: server.ts --model model.corml [--data interactions.tsv] [--port 3000] [--host 127.0.0.1] ' +
  '[--workers N] [--no-mmap] [--log-level info] [--log-requests] [--drain-ms 0] ' +
  '[--shutdown-timeout-ms 10000] [--train-threads N] [--serving-threads N]; admin endpoints need ' +
  'CORML_ADMIN_TOKEN'
const workers = Number(values.workers)
const drainMs = Number(values['drain-ms'])
const shutdownTimeoutMs = Number(values['shutdown-timeout-ms'])
if (
  values.model === undefined ||
  !(Number.isInteger(workers) && workers >= 1) ||
  !(drainMs >= 0) ||
  !(shutdownTimeoutMs > 0)
) {
  console.error(usage)
  process.exit(2)
}
const modelPath = resolve(values.model)
// Each worker's batches run on the native thread pool (its size is RAYON_NUM_THREADS): one
// worker per core, each with a pool of every core, would run cores² scoring threads that preempt
// each other mid-product. So the cores are shared out: 2 workers on 2 cores score on 1 thread
// each (measured on Gowalla: 4,976 requests/s against 3,934 with 2 threads each).
const servingThreads =
  values['serving-threads'] ??
  process.env.RAYON_NUM_THREADS ??
  String(Math.max(1, Math.floor(availableParallelism() / workers)))
if (!(Number.isInteger(Number(servingThreads)) && Number(servingThreads) >= 1)) {
  console.error(usage)
  process.exit(2)
}
const mmap = !values['no-mmap']
const token = process.env.CORML_ADMIN_TOKEN ?? ''
const log = pino({ level: values['log-level'] })

/** The retraining job's state, as `GET /admin/retrain` reports it. */
interface RetrainState {
  state: 'idle' | 'running' | 'succeeded' | 'failed'
  startedAt?: string
  finishedAt?: string
  seconds?: number
  result?: unknown
  error?: { code: string; message: string }
}

/** The primary: forks the workers, swaps models on all of them, retrains, shuts down. */
async function primary(): Promise<void> {
  const aggregator = new AggregatorRegistry()
  const live = new Set<Worker>()
  let stopping = false
  let retrain: RetrainState = { state: 'idle' }
  const crashes: number[] = []
  let swaps = Promise.resolve<unknown>(undefined)

  /** Every worker loads `path` and switches to it; resolves when all have. */
  const reloadAll = (path: string | undefined): Promise<unknown> => {
    const run = async () => {
      const target = resolve(path ?? modelPath)
      const started = performance.now()
      const results = await Promise.allSettled(
        [...live].map((w) => ask<PrimaryCall>(w, { op: 'swap', path: target })),
      )
      const failed = results.filter((r) => r.status === 'rejected')
      if (failed.length > 0) {
        const error = (failed[0] as PromiseRejectedResult).reason as RemoteError
        log.warn({ path: target, failed: failed.length, err: wireError(error) }, 'reload refused')
        throw new RemoteError(
          error.code ?? 'INTERNAL',
          `${failed.length} of ${results.length} workers kept their model: ${error.message}`,
        )
      }
      const ms = performance.now() - started
      log.info({ path: target, workers: results.length, ms }, 'model swapped in')
      return { path: target, workers: results.length, ms }
    }
    const next = swaps.then(run, run)
    swaps = next.catch(() => undefined)
    return next
  }

  const startRetrain = async (): Promise<RetrainState> => {
    if (values.data === undefined)
      throw new RemoteError('INVALID_ARGUMENT', 'retraining needs the service started with --data')
    if (retrain.state === 'running')
      throw new RemoteError(
        'RETRAIN_RUNNING',
        'a retraining is running: wait for it (GET /admin/retrain)',
      )
    const startedAt = new Date()
    retrain = { state: 'running', startedAt: startedAt.toISOString() }
    const script = fileURLToPath(new URL('./train.ts', import.meta.url))
    const args = ['--data', resolve(values.data), '--model', modelPath]
    if (values['train-threads'] !== undefined) args.push('--threads', values['train-threads'])
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => (out += b))
    child.stderr.on('data', (b: Buffer) => (err += b))
    log.info({ pid: child.pid, data: values.data }, 'retraining started')
    child.on('exit', (code) => {
      const finish = (state: RetrainState) => {
        retrain = state
        log[state.state === 'succeeded' ? 'info' : 'error'](state, 'retraining finished')
      }
      const base = {
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        seconds: (Date.now() - startedAt.getTime()) / 1000,
      }
      if (code !== 0) {
        finish({
          ...base,
          state: 'failed',
          error: { code: 'RETRAIN_FAILED', message: err.trim().slice(-2000) },
        })
        return
      }
      reloadAll(modelPath).then(
        () =>
          finish({
            ...base,
            state: 'succeeded',
            result: JSON.parse(out.trim().split('\n').at(-1)!),
          }),
        (e: unknown) => finish({ ...base, state: 'failed', error: wireError(e) }),
      )
    })
    return retrain
  }

  const handle = async (call: WorkerCall): Promise<unknown> => {
    switch (call.op) {
      case 'reload':
        return reloadAll(call.path)
      case 'retrain':
        return startRetrain()
      case 'retrainState':
        return retrain
      case 'metrics':
        return (await aggregator.clusterMetrics()) as string
    }
  }

  let ready = 0
  const fork = (): void => {
    const worker = cluster.fork({ CORML_SERVICE_WORKER: '1', RAYON_NUM_THREADS: servingThreads })
    live.add(worker)
    answer<WorkerCall>(worker, handle)
    worker.on('message', (message: unknown) => {
      if (isReady(message) && ++ready === workers) {
        log.info(
          {
            listening: message.ready.address,
            workers,
            pid: process.pid,
            loadMs: message.ready.loadMs,
            mapped: message.ready.mapped,
            workerPids: [...live].map((w) => w.process.pid),
          },
          'ready',
        )
      }
    })
    worker.on('exit', (code, signal) => {
      live.delete(worker)
      if (stopping) return
      log.error({ pid: worker.process.pid, code, signal }, 'worker died; forking another')
      const now = Date.now()
      crashes.push(now)
      while (crashes.length > 0 && crashes[0]! < now - 60_000) crashes.shift()
      if (crashes.length > 5) {
        log.fatal('more than 5 worker crashes in a minute; stopping')
        void shutdown(1)
      } else {
        ready--
        fork()
      }
    })
  }

  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return
    stopping = true
    log.info({ workers: live.size, drainMs }, 'shutting down')
    const killer = setTimeout(() => {
      log.warn({ workers: live.size }, 'shutdown timed out; killing the workers')
      for (const w of live) w.process.kill('SIGKILL')
      process.exit(1)
    }, shutdownTimeoutMs + drainMs)
    killer.unref()
    await Promise.allSettled(
      [...live].map(
        (w) =>
          new Promise<void>((done) => {
            w.once('exit', () => done())
            ask<PrimaryCall>(w, { op: 'drain' }).catch(() => undefined)
          }),
      ),
    )
    log.info('stopped')
    process.exit(code)
  }

  for (let i = 0; i < workers; i++) fork()
  process.on('SIGHUP', () => void reloadAll(modelPath).catch(() => undefined))
  process.once('SIGTERM', () => void shutdown(0))
  process.once('SIGINT', () => void shutdown(0))
}

/** A worker: one ModelServer and one Fastify app on the shared port. */
async function worker(): Promise<void> {
  const started = performance.now()
  const server = await ModelServer.load(modelPath, { mmap })
  const loadMs = performance.now() - started
  let draining = false
  const channel = process as unknown as Parameters<typeof ask>[0]
  const app = buildServer(server, {
    logger: { level: values['log-level']! },
    logRequests: values['log-requests'],
    draining: () => draining,
    metrics: async () => (await ask<WorkerCall>(channel, { op: 'metrics' })) as string,
    ...(token.length > 0
      ? {
          admin: {
            token,
            reload: (path) =>
              ask<WorkerCall>(
                channel,
                path === undefined ? { op: 'reload' } : { op: 'reload', path },
              ),
            retrain: () => ask<WorkerCall>(channel, { op: 'retrain' }),
            retrainState: () => ask<WorkerCall>(channel, { op: 'retrainState' }),
          },
        }
      : {}),
  })
  // Constructing an aggregator registers the listener that answers the primary's requests.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([app.metricsRegistry])
  answer<PrimaryCall>(channel, async (call) => {
    if (call.op === 'swap') {
      await server.swap(call.path)
      return { fingerprint: server.model.info.fingerprint }
    }
    draining = true
    setTimeout(() => {
      void app.close().then(() => process.exit(0))
    }, drainMs)
    return {}
  })
  // The primary handles the signals; a worker's own SIGINT (Ctrl-C reaches the whole group)
  // must not kill it before it drains.
  process.on('SIGINT', () => undefined)
  process.on('SIGTERM', () => undefined)
  const address = await app.listen({ port: Number(values.port), host: values.host })
  process.send!({ corml: true, ready: { address, loadMs, mapped: server.model.mapped } })
}

if (cluster.isPrimary) await primary()
else await worker()
