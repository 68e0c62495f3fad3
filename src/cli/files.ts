/**
 * Output files of the CLI, written atomically: to a temporary file in the same directory, then
 * renamed, so an interrupted run never leaves half a file behind.
 *
 * @packageDocumentation
 */

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { dirname, join, basename } from 'node:path'

import { CormlError } from '../errors.js'

/** Whether a process with this id is running (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A temporary file older than this is abandoned. These are small files written synchronously in
 * milliseconds; the age guards a writer that this process cannot see (another host on a shared
 * volume, another PID namespace), whose id may look dead here.
 */
const ABANDONED_AFTER_MS = 60_000

/**
 * Removes the temporary files `.<name>.<pid>.tmp` of earlier writes to `path` that were killed
 * mid-write: not written for a minute, by a process that is gone. A live process's file is its
 * write in progress and stays.
 */
function removeAbandoned(dir: string, name: string): void {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return
  }
  const prefix = `.${name}.`
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith('.tmp')) continue
    const pid = Number(entry.slice(prefix.length, -'.tmp'.length))
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue
    const path = join(dir, entry)
    try {
      if (Date.now() - statSync(path).mtimeMs > ABANDONED_AFTER_MS) rmSync(path, { force: true })
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }
}

/**
 * Writes `data` to `path` through a temporary file and a rename; `IO_ERROR` on failure. The
 * temporary files of earlier writes to `path` by processes that were killed are removed first.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  onFile(path, () => {
    try {
      mkdirSync(dir, { recursive: true })
      removeAbandoned(dir, basename(path))
      const fd = openSync(temp, 'w')
      try {
        writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(temp, path)
    } catch (error) {
      rmSync(temp, { force: true })
      throw error
    }
  })
}

/** Runs file-system work, turning a system error (ENOENT, EACCES, …) into `IO_ERROR` naming `path`. */
export function onFile<T>(path: string, call: () => T): T {
  try {
    return call()
  } catch (error) {
    const system =
      error instanceof Error && typeof (error as { syscall?: unknown }).syscall === 'string'
    if (!system) throw error
    throw new CormlError('IO_ERROR', `cannot use ${path}: ${(error as Error).message}`, {
      cause: error,
    })
  }
}
