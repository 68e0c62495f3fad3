/**
 * What one benchmark run measures, shared by the training table and the scaling study.
 */

/** The two axes of `--scaling`: item count, and interactions at a fixed item count. */
export type Axis = 'items' | 'interactions'

/** What one child reports. */
export interface Measurement {
  dataset: string
  /** For a scaling point: the axes it lies on (the full-data point lies on both). */
  axes?: Axis[]
  model: string
  users: number
  items: number
  interactions: number
  backend: string
  seconds: number
  stages: { stage: string; seconds: number }[]
  /** Resident memory when training starts (the process with its data loaded). */
  baseRssBytes: number
  /** Peak resident memory while training (Linux: the peak is reset when training starts). */
  peakRssBytes: number
  admmSolvers: string[]
  admmGflops?: number
  gemmGflops?: number
  gemmN?: number
  ndcg20?: number
  mrr20?: number
}
