/**
 * An example recommendation service on Fastify: it loads one model file at start and serves
 *
 * - `GET /users/:id/recommendations?k=20&filterSeen=true`: a known user's top `k`;
 * - `POST /recommendations` with `{ "history": ["item", …], "k": 20 }`: a new user's top `k`
 *   (unknown history items are ignored and counted);
 * - `GET /items/:id/similar?k=10`: the items most like one item;
 * - `GET /healthz`: the model's size and the process's resident memory.
 *
 * Bad input is a 400 with `{ "error": { "code", "message" } }`, an unknown user or item a 404
 * with the same body; nothing a client sends can produce a 500.
 *
 * ```sh
 * tsx examples/service/server.ts --model model.corml [--port 3000] [--host 127.0.0.1]
 * ```
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'

import { isCormlError, loadModel, type AnyModel } from 'corml-native'

/** The largest `k` the service accepts (the library takes any; a service sets its own cap). */
export const MAX_K = 1000
/** The longest history `POST /recommendations` accepts. */
export const MAX_HISTORY = 10_000

/** The JSON body of every error response. */
interface ErrorBody {
  error: { code: string; message: string }
}

/** `k` in a JSON body: a JSON integer (no coercion from strings). */
const K_BODY = { type: 'integer', minimum: 1, maximum: MAX_K, default: 20 } as const
/** `k` in a query string: decimal digits for 1 … {@link MAX_K}, converted by the handler. */
const K_QUERY = { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$' } as const

/** HTTP status of a library error code: unknown ids are 404, everything else the client sent 400. */
function statusOf(code: string): number {
  if (code === 'UNKNOWN_USER' || code === 'UNKNOWN_ITEM') return 404
  if (code === 'INVALID_ARGUMENT') return 400
  return 500
}

/**
 * The service around a loaded model. Exported so tests can drive it with `inject`.
 *
 * @example
 * ```ts
 * const app = buildServer(await loadModel('model.corml'))
 * await app.listen({ port: 3000 })
 * ```
 */
export function buildServer(model: AnyModel): FastifyInstance {
  // No type coercion and no silent removal of unknown fields: a JSON body must have the right
  // types, and query values are validated as strings and converted here.
  const app = Fastify({
    logger: false,
    bodyLimit: 1 << 20,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  })

  app.setErrorHandler((err: FastifyError, _request, reply) => {
    let status = 500
    let code = 'INTERNAL'
    if (isCormlError(err)) {
      code = err.code
      status = statusOf(code)
    } else if (err.validation !== undefined) {
      ;[status, code] = [400, 'INVALID_ARGUMENT']
    } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      ;[status, code] = [err.statusCode, err.code ?? 'BAD_REQUEST']
    }
    const body: ErrorBody = { error: { code, message: err.message } }
    if (status >= 500) app.log.error(err)
    void reply.status(status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` },
    }
    void reply.status(404).send(body)
  })

  app.get<{ Params: { id: string }; Querystring: { k?: string; filterSeen?: string } }>(
    '/users/:id/recommendations',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1 } } },
        querystring: {
          type: 'object',
          properties: { k: K_QUERY, filterSeen: { type: 'string', enum: ['true', 'false'] } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const k = Number(request.query.k ?? 20)
      const filterSeen = request.query.filterSeen !== 'false'
      return {
        user: request.params.id,
        items: model.recommend(request.params.id, { k, filterSeen }),
      }
    },
  )

  app.post<{ Body: { history: string[]; k: number } }>(
    '/recommendations',
    {
      schema: {
        body: {
          type: 'object',
          required: ['history'],
          properties: {
            history: { type: 'array', items: { type: 'string' }, maxItems: MAX_HISTORY },
            k: K_BODY,
          },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const { history, k } = request.body
      return model.recommendForHistory(history, { k })
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
      items: model.similarItems(request.params.id, { k: Number(request.query.k ?? 10) }),
    }),
  )

  app.get('/healthz', async () => ({
    ok: true,
    algorithm: model.info.algorithm,
    users: model.numUsers,
    items: model.numItems,
    rssBytes: process.memoryUsage().rss,
  }))

  return app
}

/** Runs the service from the command line. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  })
  if (values.model === undefined) {
    console.error('usage: server.ts --model model.corml [--port 3000] [--host 127.0.0.1]')
    process.exit(2)
  }
  const started = performance.now()
  const model = await loadModel(values.model)
  const loadMs = performance.now() - started
  const app = buildServer(model)
  const address = await app.listen({ port: Number(values.port), host: values.host })
  // One line on stdout that scripts (the load test) read: where, and how long the load took.
  console.log(JSON.stringify({ listening: address, loadMs, pid: process.pid }))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void app.close().then(() => process.exit(0)))
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main()
}
