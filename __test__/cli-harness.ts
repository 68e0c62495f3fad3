/**
 * Runs `corml` in-process for the CLI specs (not a spec itself), capturing its output.
 */
import { join } from 'node:path'

import type { ExecutionContext } from 'ava'

import { run } from '../src/cli/program.js'
import { tempDir as fixtureDir } from './fixtures.js'

/** What one `corml` run printed and returned. */
export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** The sample data of the examples (800 users, 500 items). */
export const SAMPLE = join(import.meta.dirname, '../examples/data/sample.tsv')

/** Settings that make CoRML fit the sample in a fraction of a second. */
export const FAST = ['--eigenvectors', '16', '--admm-iterations', '5']

/**
 * Runs `corml ...argv`. `onStderr` sees stderr as it is written (to abort at a point); `signal`
 * stands for Ctrl-C.
 */
export async function corml(
  argv: readonly string[],
  options: { signal?: AbortSignal; onStderr?: (text: string) => void; isTTY?: boolean } = {},
): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const code = await run(argv, {
    stdout: (t) => {
      stdout += t
    },
    stderr: (t) => {
      stderr += t
      options.onStderr?.(t)
    },
    isTTY: options.isTTY ?? false,
    columns: 100,
    signal: options.signal ?? new AbortController().signal,
  })
  return { code, stdout, stderr }
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: ExecutionContext): string {
  const dir = fixtureDir()
  t.teardown(dir.cleanup)
  return dir.dir
}

/** The error lines of a run: stderr lines that start with `corml`. */
export function errorLine(r: CliResult): string {
  return r.stderr.split('\n').find((l) => l.startsWith('corml')) ?? ''
}
