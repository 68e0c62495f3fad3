/**
 * Hyperparameter grids: `lambda=0.6:0.9:0.05,itemDegreeNorm=-0.2:0.2:0.05` into the list of
 * settings to try.
 *
 * @packageDocumentation
 */

import { describeRange, inRange } from '../hyperparameters.js'
import { UsageError } from './io.js'
import { GRID_HYPERPARAMETERS, HYPERPARAMETER_FLAGS, kebab } from './model-flags.js'
import type { NumericHyperparameter } from './model-flags.js'
import { closest } from './suggest.js'

/** One axis of a grid: a hyperparameter and its values, in order. */
export interface GridAxis {
  readonly name: NumericHyperparameter
  readonly values: readonly number[]
}

/** The most points a grid may have. */
export const MAX_GRID_POINTS = 10_000

/** Rounds away floating-point noise: `0.1 + 0.2` → `0.3`. */
function tidy(x: number): number {
  return Number(x.toPrecision(12))
}

/**
 * The hyperparameter `text` names (`itemDegreeNorm` or `item-degree-norm`); a typo gets a
 * suggestion in the same style.
 */
function hyperparameter(text: string): NumericHyperparameter {
  const h = GRID_HYPERPARAMETERS.find((x) => x.name === text || kebab(x.name) === text)
  if (h !== undefined) return h.name as NumericHyperparameter
  const names = GRID_HYPERPARAMETERS.map((x) => x.name)
  const other = HYPERPARAMETER_FLAGS.find(
    (f) => f.hyperparameter.name === text || f.flag.replace(/^--(no-)?/, '') === text,
  )
  if (other !== undefined) {
    throw new UsageError(
      `${other.hyperparameter.name} (${other.flag}) cannot vary in a grid; a grid varies ` +
        names.join(', '),
    )
  }
  const suggestion = closest(text, text.includes('-') ? names.map(kebab) : names)
  throw new UsageError(
    `unknown hyperparameter ${JSON.stringify(text)} in the grid; ` +
      (suggestion === undefined ? `use one of ${names.join(', ')}` : `did you mean ${suggestion}?`),
  )
}

/** The values of one axis: `start:stop:step` (inclusive), `a|b|c`, or one value. */
function values(name: NumericHyperparameter, spec: string): number[] {
  const number = (t: string): number => {
    const x = Number(t)
    if (t.trim() === '' || !Number.isFinite(x)) {
      throw new UsageError(`${name}: ${JSON.stringify(t)} is not a number`)
    }
    return x
  }
  let out: number[]
  const range = spec.split(':')
  if (range.length === 3) {
    const [start, stop, step] = range.map(number) as [number, number, number]
    if (!(step > 0) || stop < start) {
      throw new UsageError(
        `${name}=${spec}: a range is start:stop:step with step > 0 and stop ≥ start`,
      )
    }
    const n = Math.floor((stop - start) / step + 1e-9) + 1
    if (n > MAX_GRID_POINTS)
      throw new UsageError(`${name}=${spec} has ${n} values; that is too many`)
    out = Array.from({ length: n }, (_, i) => tidy(start + i * step))
  } else if (range.length === 1) {
    out = spec.split('|').map(number)
  } else {
    throw new UsageError(`${name}=${spec}: give start:stop:step, a|b|c or one value`)
  }
  return [...new Set(out)]
}

/** Checks that every value of an axis is allowed for its hyperparameter. */
function checkRange(axis: GridAxis): void {
  const h = GRID_HYPERPARAMETERS.find((x) => x.name === axis.name)!
  const bad = axis.values.filter((x) => !inRange(h, x))
  if (bad.length > 0) {
    throw new UsageError(`${axis.name} must be ${describeRange(h)}, not ${bad.join(', ')}`)
  }
}

/** Parses a grid: comma-separated `name=values`, each name once. */
export function parseGrid(text: string): GridAxis[] {
  const axes: GridAxis[] = []
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq < 0) {
      throw new UsageError(
        `grid entry ${JSON.stringify(part)} must be name=start:stop:step, name=a|b or name=value`,
      )
    }
    const name = hyperparameter(part.slice(0, eq).trim())
    if (axes.some((a) => a.name === name)) throw new UsageError(`${name} appears twice in the grid`)
    axes.push({ name, values: values(name, part.slice(eq + 1).trim()) })
  }
  const points = axes.reduce((n, a) => n * a.values.length, 1)
  if (points > MAX_GRID_POINTS) {
    throw new UsageError(`the grid has ${points} points; at most ${MAX_GRID_POINTS} are allowed`)
  }
  axes.forEach(checkRange)
  return axes
}

/** Every combination of the axes' values, the last axis changing fastest. */
export function gridPoints(axes: readonly GridAxis[]): Record<NumericHyperparameter, number>[] {
  let points: Partial<Record<NumericHyperparameter, number>>[] = [{}]
  for (const axis of axes) {
    points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.name]: v })))
  }
  return points as Record<NumericHyperparameter, number>[]
}

/** A stable key of one point: `itemDegreeNorm=0.1,lambda=0.8`. */
export function pointKey(point: Readonly<Partial<Record<string, number>>>): string {
  return Object.keys(point)
    .sort()
    .map((k) => `${k}=${point[k]}`)
    .join(',')
}
