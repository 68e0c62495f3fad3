/**
 * Output files of the CLI, written atomically: to a temporary file in the same directory, then
 * renamed, so an interrupted run never leaves half a file behind.
 *
 * @packageDocumentation
 */

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join, basename } from 'node:path'

import { CormlError } from '../errors.js'

/** Writes `data` to `path` through a temporary file and a rename; `IO_ERROR` on failure. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  onFile(path, () => {
    try {
      mkdirSync(dir, { recursive: true })
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
