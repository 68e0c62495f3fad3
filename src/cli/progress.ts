/**
 * Progress of long work on stderr: a bar redrawn in place on a terminal (stage, part k/n, ADMM
 * iteration, ETA), plain lines otherwise (for logs and CI), nothing with `--quiet`.
 *
 * @packageDocumentation
 */

import type { Progress } from '../job.js'
import type { CliIo } from './io.js'

/** How progress is shown. */
export type ProgressMode = 'bar' | 'lines' | 'quiet'

/** Seconds as `42 s`, `3 min 5 s` or `1 h 2 min`. */
export function duration(seconds: number): string {
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)} s`
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** Where the work is: `admm part 2/5 iteration 31/50`. */
export function describe(p: Progress): string {
  let text = p.stage
  if (p.parts > 0) text += ` part ${p.part}/${p.parts}`
  if (p.iterations > 0) {
    text += ` ${p.stage === 'score' ? 'batch' : 'iteration'} ${p.iteration}/${p.iterations}`
  }
  return text
}

/** The estimated time left, once enough of the work is done to guess it. */
function eta(fraction: number, elapsed: number): string {
  if (fraction < 0.02 || elapsed < 2 || fraction >= 1) return ''
  return `ETA ${duration((elapsed * (1 - fraction)) / fraction)}`
}

/** Shows the progress of one command's tasks on stderr. */
export class ProgressView {
  readonly #io: CliIo
  readonly #mode: ProgressMode

  /**
   * @param io - where to draw
   * @param mode - `'bar'` (terminal), `'lines'` or `'quiet'`
   */
  constructor(io: CliIo, mode: ProgressMode) {
    this.#io = io
    this.#mode = mode
  }

  /** The mode for a command's flags: quiet wins, then a bar on a terminal, else lines. */
  static modeFor(io: CliIo, quiet: boolean): ProgressMode {
    if (quiet) return 'quiet'
    return io.isTTY ? 'bar' : 'lines'
  }

  /** A note on stderr (not with `--quiet`). */
  note(text: string): void {
    if (this.#mode !== 'quiet') this.#io.stderr(`${text}\n`)
  }

  /** A warning on stderr, `warning: …`, shown with `--quiet` too: it may change what to do next. */
  warn(text: string): void {
    this.#io.stderr(`warning: ${text}\n`)
  }

  /**
   * Runs `work` with a progress callback, showing `label` and its progress; on success ends with
   * `label: done in 12 s`. The bar is cleared when the work fails.
   */
  async task<T>(
    label: string,
    work: (onProgress: (p: Progress) => void) => Promise<T>,
  ): Promise<T> {
    const started = performance.now()
    const elapsed = (): number => (performance.now() - started) / 1000
    let lastDraw = 0
    let lastLine = 0
    let lastStage = ''
    let drawn = false
    const io = this.#io
    const mode = this.#mode
    const onProgress = (p: Progress): void => {
      // The end is reported by the task itself, with its time.
      if (mode === 'quiet' || p.stage === 'done') return
      const now = performance.now()
      const where = describe(p)
      const percent = `${Math.floor(100 * p.fraction)}%`
      const left = eta(p.fraction, elapsed())
      if (mode === 'bar') {
        if (now - lastDraw < 100 && p.fraction < 1) return
        lastDraw = now
        const width = Math.max(10, Math.min(30, io.columns - 60))
        const filled = Math.round(width * Math.min(1, Math.max(0, p.fraction)))
        const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
        const line = `${label} ${bar} ${percent.padStart(4)}  ${where}${left ? `  ${left}` : ''}`
        io.stderr(`\r\x1b[K${line.slice(0, Math.max(20, io.columns - 1))}`)
        drawn = true
        return
      }
      // Lines: not in the first second (quick work prints only its end), then on a new stage
      // at most every 2 s, and every 10 s within one stage.
      const stage = `${p.stage}/${p.part}`
      const since = now - lastLine
      if (now - started < 1000 || since < 2000 || (stage === lastStage && since < 10_000)) return
      lastStage = stage
      lastLine = now
      io.stderr(`${label}: ${where} (${percent}${left ? `, ${left}` : ''})\n`)
    }
    const clear = (): void => {
      if (drawn) io.stderr('\r\x1b[K')
      drawn = false
    }
    try {
      const result = await work(onProgress)
      clear()
      if (mode !== 'quiet') io.stderr(`${label}: done in ${duration(elapsed())}\n`)
      return result
    } catch (error) {
      clear()
      throw error
    }
  }
}
