#!/usr/bin/env node
/**
 * The `corml` executable: wires the program to this process (stdout, stderr, the terminal, Ctrl-C)
 * and sets the exit code.
 *
 * @packageDocumentation
 */

import { run } from './program.js'

const controller = new AbortController()
let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130) // a second Ctrl-C: stop at once
  interrupted = true
  process.stderr.write('\ninterrupted: stopping at the next step (Ctrl-C again to quit now)\n')
  controller.abort()
})

// A reader that goes away (`corml recommend … | head -1`) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
  columns: process.stderr.columns ?? 80,
  signal: controller.signal,
})
