/**
 * Metric names (`ndcg@20`) and evaluation tables, shared by `eval` and `tune`.
 *
 * @packageDocumentation
 */

import type { MetricsAtK } from '../evaluate.js'
import { UsageError } from './io.js'

/** A metric of {@link MetricsAtK}. */
export type MetricName = 'ndcg' | 'mrr' | 'recall' | 'novelty'

/** A metric at a cut-off: what tuning maximizes. */
export interface Target {
  readonly metric: MetricName
  readonly k: number
}

/** Headers of the metrics, as the paper writes them. */
export const METRIC_LABEL: Readonly<Record<MetricName, string>> = {
  ndcg: 'NDCG',
  mrr: 'MRR',
  recall: 'Recall',
  novelty: 'Novelty',
}

/** Parses `ndcg@20` (also `NDCG@20`, `mrr@10`, `recall@5`, `novelty@20`). */
export function parseTarget(text: string): Target {
  const m = /^(ndcg|mrr|recall|novelty)@(\d+)$/i.exec(text.trim())
  if (!m || Number(m[2]) < 1) {
    throw new UsageError(
      `metric ${JSON.stringify(text)} must be ndcg@K, mrr@K, recall@K or novelty@K (K ≥ 1)`,
    )
  }
  return { metric: m[1]!.toLowerCase() as MetricName, k: Number(m[2]) }
}

/** `NDCG@20`. */
export function targetLabel(t: Target): string {
  return `${METRIC_LABEL[t.metric]}@${t.k}`
}

/** The value of `target` in a result's metrics (NaN when its K was not evaluated). */
export function valueOf(metrics: readonly MetricsAtK[], target: Target): number {
  return metrics.find((m) => m.k === target.k)?.[target.metric] ?? Number.NaN
}

/** Four decimals. */
export const fixed4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '')
