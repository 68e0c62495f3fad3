/**
 * Calls between the service's cluster primary and its workers over the IPC channel that
 * `node:cluster` opens: each call is a message with an id, answered by one reply with the same id.
 * Messages carry `corml: true`, so they never mix with prom-client's own cluster messages.
 */

/** What a worker asks the primary. */
export type WorkerCall =
  { op: 'reload'; path?: string } | { op: 'retrain' } | { op: 'retrainState' } | { op: 'metrics' }

/** What the primary asks a worker. */
export type PrimaryCall = { op: 'swap'; path: string } | { op: 'drain' }

/** A worker's announcement that it listens. */
export interface Ready {
  corml: true
  ready: { address: string; loadMs: number; mapped: boolean }
}

/** An error as it crosses the channel: its code and message. */
export interface WireError {
  code: string
  message: string
}

interface Request<C> {
  corml: true
  id: number
  call: C
}

interface Reply {
  corml: true
  id: number
  ok: boolean
  value?: unknown
  error?: WireError
}

/** Anything with an IPC channel: a `cluster.Worker`, or `process` in a worker. */
export interface Channel {
  send(message: unknown): unknown
  on(event: 'message', listener: (message: unknown) => void): unknown
  off(event: 'message', listener: (message: unknown) => void): unknown
}

/** An error of a remote call, with the code the other side gave. */
export class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'RemoteError'
  }
}

function isOurs(message: unknown): message is Record<string, unknown> {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { corml?: unknown }).corml === true
  )
}

/** The code and message of anything thrown. */
export function wireError(error: unknown): WireError {
  const e = error as { code?: unknown; message?: unknown }
  return {
    code: typeof e?.code === 'string' ? e.code : 'INTERNAL',
    message: typeof e?.message === 'string' ? e.message : String(error),
  }
}

let nextId = 1

/**
 * Sends `call` over `channel` and resolves with the reply's value, or rejects with a
 * {@link RemoteError} (the remote's code), or with `TIMEOUT` after `timeoutMs`.
 */
export function ask<C>(channel: Channel, call: C, timeoutMs = 120_000): Promise<unknown> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.off('message', listener)
      reject(new RemoteError('TIMEOUT', `no reply to ${JSON.stringify(call)} in ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (message: unknown): void => {
      if (!isOurs(message) || message.id !== id || !('ok' in message)) return
      clearTimeout(timer)
      channel.off('message', listener)
      const reply = message as unknown as Reply
      if (reply.ok) resolve(reply.value)
      else reject(new RemoteError(reply.error?.code ?? 'INTERNAL', reply.error?.message ?? ''))
    }
    channel.on('message', listener)
    const request: Request<C> = { corml: true, id, call }
    channel.send(request)
  })
}

/** Answers the calls that arrive on `channel` with `handle`. */
export function answer<C>(channel: Channel, handle: (call: C) => Promise<unknown>): void {
  channel.on('message', (message) => {
    if (!isOurs(message) || !('call' in message)) return
    const { id, call } = message as unknown as Request<C>
    handle(call).then(
      (value) => channel.send({ corml: true, id, ok: true, value } satisfies Reply),
      (error: unknown) =>
        channel.send({ corml: true, id, ok: false, error: wireError(error) } satisfies Reply),
    )
  })
}

/** Whether `message` is a worker's {@link Ready}. */
export function isReady(message: unknown): message is Ready {
  return isOurs(message) && 'ready' in message
}
