/**
 * The HTTP side of the example service, on Fastify: the routes, their validation and error
 * bodies, `/healthz`, `/metrics` and the admin endpoints, around a {@link ModelServer}. The
 * process side (cluster workers, hot swaps, retraining, shutdown) is in `server.ts`.
 *
 * - `GET /users/:id/recommendations?k=20&filterSeen=true&fallback=popular`: a user's top `k`,
 *   batched with the requests that arrive together (`fallback=popular` answers unknown users);
 * - `POST /recommendations` with `{ "history": ["item", …], "k": 20 }`: the top `k` for a fresh
 *   history (a new user, or a known one's latest interactions; unknown items are ignored and
 *   counted);
 * - `GET /items/:id/similar?k=10`: the items most like one item;
 * - `GET /healthz`: 200 while serving, 503 once the process drains for shutdown;
 * - `GET /metrics`: Prometheus text (latency histograms per route, the model server's counters);
 * - `POST /admin/reload` (`{ "path"?: "…" }`) and `POST /admin/retrain`, `GET /admin/retrain`:
 *   with `Authorization: Bearer <token>`.
 *
 * Bad input is a 400 with `{ "error": { "code", "message" } }`, an unknown user or item a 404,
 * a full queue a 503 with `Retry-After`; nothing a client sends can produce a 500.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

import { isCormlError, type ModelServer } from 'corml-native'

/** The largest `k` the service accepts (the library takes any; a service sets its own cap). */
export const MAX_K = 1000
/** The longest history `POST /recommendations` accepts. */
export const MAX_HISTORY = 10_000

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's prom-client registry (a cluster worker hands it to prom-client's aggregator). */
    metricsRegistry: Registry
  }
}

/** The admin endpoints' actions; without them (or without a token) those endpoints are 404. */
export interface Admin {
  /** The bearer token a caller must send. */
  token: string
  /** Swaps in the model file at `path` (or the service's own file) wherever it is served. */
  reload(path: string | undefined): Promise<unknown>
  /** Starts retraining outside the serving path; rejects with `RETRAIN_RUNNING` if one runs. */
  retrain?(): Promise<unknown>
  /** The last retraining's state. */
  retrainState?(): Promise<unknown>
}

/** Options of {@link buildServer}. */
export interface ServiceOptions {
  /** Fastify's logger (pino): `false` (the default), `true`, or pino options. */
  logger?: boolean | { level?: string }
  /** Log every request and response (Fastify's request logging). Default `false`. */
  logRequests?: boolean
  /** Admin actions; the admin endpoints exist only with them. */
  admin?: Admin
  /**
   * The `/metrics` text: by default this app's own registry. A cluster worker passes a function
   * that asks the primary for the metrics of all workers.
   */
  metrics?: () => Promise<string>
  /** Whether the process is draining for shutdown (then `/healthz` is 503). */
  draining?: () => boolean
}

/** The JSON body of every error response. */
interface ErrorBody {
  error: { code: string; message: string }
}

/** `k` in a JSON body: a JSON integer (no coercion from strings). */
const K_BODY = { type: 'integer', minimum: 1, maximum: MAX_K, default: 20 } as const
/** `k` in a query string: decimal digits for 1 … {@link MAX_K}, converted by the handler. */
const K_QUERY = { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$' } as const
const FALLBACK = { type: 'string', enum: ['popular', 'none'] } as const

/** A JSON body that did not parse, kept as the body so that the connection stays open. */
class MalformedBody {
  constructor(readonly reason: string) {}
}

/** HTTP status of an error code. */
function statusOf(code: string): number {
  switch (code) {
    case 'UNKNOWN_USER':
    case 'UNKNOWN_ITEM':
      return 404
    case 'INVALID_ARGUMENT':
      return 400
    case 'OVERLOADED':
      return 503
    case 'RETRAIN_RUNNING':
      return 409
    // A reload to a file that cannot be served: the old model keeps serving.
    case 'IO_ERROR':
    case 'INVALID_MODEL_FILE':
    case 'UNSUPPORTED_MODEL_VERSION':
      return 422
    default:
      return 500
  }
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): void {
  const body: ErrorBody = { error: { code, message } }
  if (status === 503) void reply.header('retry-after', '1')
  void reply.status(status).send(body)
}

/** Whether the request carries `token` as its bearer token (compared in constant time). */
function authorized(header: string | undefined, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1]
  return given !== undefined && timingSafeEqual(digest(given), digest(token))
}

/** The metrics of one app: request latency per route, and what its model server has done. */
function metricsOf(server: ModelServer): Registry {
  const register = new Registry()
  collectDefaultMetrics({ register })
  const stat = (name: keyof ReturnType<ModelServer['stats']>, help: string) =>
    new Counter({
      name: `corml_model_server_${name}_total`,
      help,
      registers: [register],
      collect() {
        this.reset()
        this.inc(server.stats()[name])
      },
    })
  stat('requests', 'Requests the model server answered (batched path).')
  stat('batches', 'Batches the model server scored.')
  stat('overloaded', 'Requests refused with OVERLOADED.')
  stat('swaps', 'Models swapped in.')
  new Gauge({
    name: 'corml_model_server_pending',
    help: 'Requests waiting or being scored.',
    registers: [register],
    collect() {
      this.set(server.stats().pending)
    },
  })
  for (const [name, help, value] of [
    ['corml_model_items', 'Items of the served model.', () => server.model.numItems],
    ['corml_model_users', 'Users of the served model.', () => server.model.numUsers],
    [
      'corml_model_mapped',
      '1 when the model is read in place from a mapped file.',
      () => Number(server.model.mapped),
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [register],
      aggregator: 'max',
      collect() {
        this.set(value())
      },
    })
  }
  return register
}

/**
 * The service around a {@link ModelServer}. Exported so that tests can drive it with `inject`.
 *
 * @example
 * ```ts
 * const app = buildServer(await ModelServer.load('model.corml'))
 * await app.listen({ port: 3000 })
 * ```
 */
export function buildServer(server: ModelServer, options: ServiceOptions = {}): FastifyInstance {
  // No type coercion and no silent removal of unknown fields: a JSON body must have the right
  // types, and query values are validated as strings and converted here.
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: options.logRequests !== true }),
    bodyLimit: 1 << 20,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  })
  const register = metricsOf(server)
  app.decorate('metricsRegistry', register)

  // Fastify answers a body that fails to parse with `Connection: close`, which costs a client on
  // keep-alive a reconnect (and confuses load generators). The body has been read whole by then,
  // so the connection can stay: the parse error becomes a 400 in preValidation instead.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (error: Error | null, value?: unknown) =>
      done(null, error === null ? value : new MalformedBody(error.message)),
    )
  })
  app.addHook('preValidation', async (request) => {
    if (request.body instanceof MalformedBody) {
      const error = new Error(`the body is not valid JSON: ${request.body.reason}`)
      throw Object.assign(error, { statusCode: 400, code: 'INVALID_ARGUMENT' })
    }
  })
  const latency = new Histogram({
    name: 'corml_http_request_duration_seconds',
    help: 'Time from a request arriving to its response being sent, by route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [register],
  })
  app.addHook('onResponse', async (request, reply) => {
    latency.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    )
  })

  app.setErrorHandler((err: FastifyError, request, reply) => {
    let status = 500
    let code = 'INTERNAL'
    const coded = (err as { code?: unknown }).code
    if (isCormlError(err) || (err.name === 'RemoteError' && typeof coded === 'string')) {
      code = err.code
      status = statusOf(code)
    } else if (err.validation !== undefined) {
      ;[status, code] = [400, 'INVALID_ARGUMENT']
    } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      ;[status, code] = [err.statusCode, err.code ?? 'BAD_REQUEST']
    }
    if (status === 500) request.log.error({ err }, 'request failed')
    sendError(reply, status, code, err.message)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url}`),
  )

  app.get<{
    Params: { id: string }
    Querystring: { k?: string; filterSeen?: string; fallback?: 'popular' | 'none' }
  }>(
    '/users/:id/recommendations',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1 } } },
        querystring: {
          type: 'object',
          properties: {
            k: K_QUERY,
            filterSeen: { type: 'string', enum: ['true', 'false'] },
            fallback: FALLBACK,
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const { k, filterSeen, fallback } = request.query
      const items = await server.recommend(request.params.id, {
        k: Number(k ?? 20),
        filterSeen: filterSeen !== 'false',
        ...(fallback === 'popular' ? { fallback } : {}),
      })
      return { user: request.params.id, items }
    },
  )

  app.post<{ Body: { history: string[]; k: number; fallback?: 'popular' | 'none' } }>(
    '/recommendations',
    {
      schema: {
        body: {
          type: 'object',
          required: ['history'],
          properties: {
            history: { type: 'array', items: { type: 'string' }, maxItems: MAX_HISTORY },
            k: K_BODY,
            fallback: FALLBACK,
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const { history, k, fallback } = request.body
      return server.recommendForHistory(history, {
        k,
        ...(fallback === 'popular' ? { fallback } : {}),
      })
    },
  )

  app.get<{ Params: { id: string }; Querystring: { k?: string } }>(
    '/items/:id/similar',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1 } } },
        querystring: { type: 'object', properties: { k: K_QUERY }, additionalProperties: false },
      },
    },
    async (request) => ({
      item: request.params.id,
      items: await server.similarItems(request.params.id, { k: Number(request.query.k ?? 10) }),
    }),
  )

  app.get('/healthz', async (_request, reply) => {
    const draining = options.draining?.() === true
    const model = server.model
    void reply.status(draining ? 503 : 200)
    return {
      ok: !draining,
      ...(draining ? { draining: true } : {}),
      algorithm: model.info.algorithm,
      fingerprint: model.info.fingerprint,
      users: model.numUsers,
      items: model.numItems,
      mapped: model.mapped,
      pending: server.stats().pending,
      rssBytes: process.memoryUsage().rss,
    }
  })

  app.get('/metrics', async (_request, reply) => {
    const text = options.metrics === undefined ? await register.metrics() : await options.metrics()
    void reply.type(register.contentType)
    return text
  })

  const admin = options.admin
  if (admin !== undefined && admin.token.length > 0) {
    app.register(async (scope) => {
      scope.addHook('onRequest', async (request, reply) => {
        if (!authorized(request.headers.authorization, admin.token)) {
          void reply.header('www-authenticate', 'Bearer')
          sendError(reply, 401, 'UNAUTHORIZED', 'send Authorization: Bearer <the admin token>')
          return reply
        }
      })
      scope.post<{ Body: { path?: string } | undefined }>(
        '/admin/reload',
        {
          schema: {
            body: {
              type: ['object', 'null'],
              properties: { path: { type: 'string', minLength: 1 } },
              additionalProperties: false,
            },
          },
        },
        async (request) => ({ reloaded: await admin.reload(request.body?.path) }),
      )
      if (admin.retrain !== undefined) {
        const retrain = admin.retrain
        scope.post('/admin/retrain', async (_request, reply) => {
          void reply.status(202)
          return { retrain: await retrain() }
        })
      }
      if (admin.retrainState !== undefined) {
        const state = admin.retrainState
        scope.get('/admin/retrain', async () => ({ retrain: await state() }))
      }
    })
  }
  return app
}
