//! Full-ranking evaluation (`docs/algorithm.md`, "Evaluation"): NDCG, MRR, Recall and Novelty at K.

use std::time::Instant;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{top_k, Model, SCORE_BATCH};
use crate::progress::{Control, ProgressEvent};
use crate::sparse::Csr;

/// Metrics at one cut-off, averaged over evaluated users.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsAtK {
    /// The cut-off K.
    pub k: usize,
    /// Normalized discounted cumulative gain.
    pub ndcg: f64,
    /// Reciprocal rank of the first hit (0 without a hit).
    pub mrr: f64,
    /// Share of the user's held-out items found.
    pub recall: f64,
    /// Mean `-log2(d_i / U) / log2(U)` over the recommended items (Eq. 29).
    pub novelty: f64,
}

/// The result of an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Users with at least one held-out item.
    pub users: usize,
    /// One entry per requested K, in the order asked.
    pub metrics: Vec<MetricsAtK>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Per-user metrics of one ranking against a set of relevant items.
///
/// `ranking` holds item indices best first; `relevant` is sorted; `novelty_of` gives an item's
/// novelty. Returns `[ndcg, mrr, recall, novelty]` for each `k` in `ks`.
pub fn rank_metrics(
    ranking: &[u32],
    relevant: &[u32],
    ks: &[usize],
    novelty_of: impl Fn(u32) -> f64,
) -> Vec<[f64; 4]> {
    let hit: Vec<bool> = ranking
        .iter()
        .map(|i| relevant.binary_search(i).is_ok())
        .collect();
    ks.iter()
        .map(|&k| {
            let top = k.min(ranking.len());
            let dcg: f64 = (0..top)
                .filter(|&r| hit[r])
                .map(|r| 1.0 / ((r + 2) as f64).log2())
                .sum();
            let ideal: f64 = (0..k.min(relevant.len()))
                .map(|r| 1.0 / ((r + 2) as f64).log2())
                .sum();
            let first = (0..top).find(|&r| hit[r]);
            let hits = (0..top).filter(|&r| hit[r]).count();
            let novelty = if top == 0 {
                0.0
            } else {
                ranking[..top].iter().map(|&i| novelty_of(i)).sum::<f64>() / top as f64
            };
            [
                if ideal > 0.0 { dcg / ideal } else { 0.0 },
                first.map_or(0.0, |r| 1.0 / (r + 1) as f64),
                if relevant.is_empty() {
                    0.0
                } else {
                    hits as f64 / relevant.len() as f64
                },
                novelty,
            ]
        })
        .collect()
}

/// Ranks every item for each user with held-out items in `target`, excluding the user's
/// training items and the items in `exclude`, and averages the metrics at each K in `ks`.
///
/// For test metrics pass `exclude = valid, target = test`; for validation `exclude` is empty.
pub fn evaluate(
    model: &Model,
    exclude: &Csr,
    target: &Csr,
    ks: &[usize],
    ctl: &Control,
) -> Result<Evaluation> {
    // Offline work: in the long-work pool, like training, so that serving is not queued behind it.
    ctl.run(|| evaluate_here(model, exclude, target, ks, ctl))
}

fn evaluate_here(
    model: &Model,
    exclude: &Csr,
    target: &Csr,
    ks: &[usize],
    ctl: &Control,
) -> Result<Evaluation> {
    let start = Instant::now();
    let train = model.train_matrix();
    for (name, m) in [("excluded", exclude), ("held-out", target)] {
        if m.rows() != train.rows() || m.cols() != train.cols() {
            return Err(Error::invalid(format!(
                "the {name} interactions are {} × {} but the model was trained on {} × {}: \
                 evaluate on parts of the split the model was trained on",
                m.rows(),
                m.cols(),
                train.rows(),
                train.cols()
            )));
        }
    }
    if ks.is_empty() || ks.iter().any(|&k| k == 0 || k > 100_000) {
        return Err(Error::invalid(format!(
            "ks = {ks:?} must be a non-empty list of integers in [1, 100000]"
        )));
    }
    let max_k = *ks.iter().max().unwrap_or(&1);
    let n_users = train.rows() as f64;
    let log_users = n_users.log2();
    let degrees = model.item_degrees();
    let novelty_of = |i: u32| {
        if log_users > 0.0 {
            -(degrees[i as usize] as f64 / n_users).log2() / log_users
        } else {
            0.0
        }
    };
    let users: Vec<u32> = (0..train.rows() as u32)
        .filter(|&u| !target.row_indices(u as usize).is_empty())
        .collect();
    if users.is_empty() {
        return Err(Error::EmptyData(
            "no user has a held-out item to evaluate".into(),
        ));
    }
    let n_items = train.cols();
    let mut sums = vec![[0f64; 4]; ks.len()];
    let batches = users.len().div_ceil(SCORE_BATCH);
    for (b, chunk) in users.chunks(SCORE_BATCH).enumerate() {
        ctl.report(ProgressEvent {
            stage: "score",
            part: 0,
            parts: 0,
            iteration: b + 1,
            iterations: batches,
            fraction: b as f64 / batches as f64,
        })?;
        let mut scores = model.score(&model.train_rows(chunk))?;
        let per_user: Vec<Vec<[f64; 4]>> = scores
            .par_chunks_mut(n_items.max(1))
            .zip(chunk.par_iter())
            .map(|(row, &u)| {
                let u = u as usize;
                for &i in train.row_indices(u).iter().chain(exclude.row_indices(u)) {
                    row[i as usize] = f32::NEG_INFINITY;
                }
                let ranking: Vec<u32> = top_k(row, max_k).iter().map(|s| s.item).collect();
                rank_metrics(&ranking, target.row_indices(u), ks, novelty_of)
            })
            .collect();
        for user in per_user {
            for (sum, m) in sums.iter_mut().zip(user) {
                sum.iter_mut().zip(m).for_each(|(s, x)| *s += x);
            }
        }
    }
    let count = users.len() as f64;
    let metrics = ks
        .iter()
        .zip(sums)
        .map(|(&k, s)| MetricsAtK {
            k,
            ndcg: s[0] / count,
            mrr: s[1] / count,
            recall: s[2] / count,
            novelty: s[3] / count,
        })
        .collect();
    Ok(Evaluation {
        users: users.len(),
        metrics,
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_worked_rankings() {
        // Relevant {3, 7}; ranking hits at ranks 2 and 4.
        let m = rank_metrics(&[1, 3, 5, 7, 9], &[3, 7], &[1, 2, 5], |i| i as f64);
        let ideal2 = 1.0 + 1.0 / 3f64.log2();
        // K = 1: no hit.
        assert_eq!(m[0][..3], [0.0, 0.0, 0.0]);
        assert!(close(m[0][3], 1.0));
        // K = 2: hit at rank 2.
        assert!(close(m[1][0], (1.0 / 3f64.log2()) / ideal2));
        assert!(close(m[1][1], 0.5));
        assert!(close(m[1][2], 0.5));
        assert!(close(m[1][3], 2.0));
        // K = 5: hits at ranks 2 and 4.
        assert!(close(
            m[2][0],
            (1.0 / 3f64.log2() + 1.0 / 5f64.log2()) / ideal2
        ));
        assert!(close(m[2][1], 0.5));
        assert!(close(m[2][2], 1.0));
        assert!(close(m[2][3], 5.0));
        // One relevant item at rank 1: everything perfect.
        let p = rank_metrics(&[4, 2], &[4], &[2], |_| 0.0);
        assert_eq!(p[0][..3], [1.0, 1.0, 1.0]);
        // More relevant items than K: the ideal DCG counts only K hits.
        let q = rank_metrics(&[1, 2], &[1, 2, 3], &[2], |_| 0.0);
        assert!(close(q[0][0], 1.0));
        assert!(close(q[0][2], 2.0 / 3.0));
    }
}
