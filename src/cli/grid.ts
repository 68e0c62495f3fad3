/**
 * Hyperparameter grids: `lambda=0.6:0.9:0.05,itemDegreeNorm=-0.2:0.2:0.05` into the list of
 * settings to try.
 *
 * @packageDocumentation
 */

import { UsageError } from './io.js'
import { NUMERIC_HYPERPARAMETERS, kebab } from './model-flags.js'
import type { NumericHyperparameter } from './model-flags.js'

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

/** The hyperparameter `text` names (`itemDegreeNorm` or `item-degree-norm`). */
function hyperparameter(text: string): NumericHyperparameter {
  const name = Object.keys(NUMERIC_HYPERPARAMETERS).find((n) => n === text || kebab(n) === text)
  if (name === undefined) {
    throw new UsageError(
      `unknown hyperparameter ${JSON.stringify(text)} in the grid; use one of ` +
        Object.keys(NUMERIC_HYPERPARAMETERS).join(', '),
    )
  }
  return name as NumericHyperparameter
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
  if (NUMERIC_HYPERPARAMETERS[name] && !out.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new UsageError(`${name} takes integers ≥ 1, not ${out.join(', ')}`)
  }
  return [...new Set(out)]
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
