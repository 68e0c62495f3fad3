//! Trained models behind one interface: CoRML and the two baselines of SPEC.md, EASE and GF-CF.
//!
//! Every model is item-based: it scores any history row (a known user's training row or a new
//! user's items) without retraining.

pub mod corml;
pub mod ease;
pub mod gfcf;
pub mod system;

use std::sync::Arc;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, Par};
use rayon::prelude::*;

use crate::dataset::{item_degrees, IdMap, Interactions};
use crate::dense::{try_vec, Dense};
use crate::error::{Error, Result};
use crate::sparse::Csr;

pub use corml::{AdmmSolver, CormlModel, CormlParams};
pub use ease::{EaseModel, EaseParams};
pub use gfcf::{GfcfModel, GfcfParams};

/// Scores every item for a batch of histories.
pub trait Scorer: Send + Sync {
    /// Number of items scored.
    fn n_items(&self) -> usize;

    /// Writes the scores of each history (a row of `histories`, over items) into `out`,
    /// row-major `histories.rows() × n_items()`.
    fn score_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()>;
}

/// The algorithm behind a [`Model`].
pub enum Algorithm {
    /// Collaborative Residual Metric Learning.
    Corml(CormlModel),
    /// Embarrassingly Shallow Autoencoder.
    Ease(EaseModel),
    /// Graph-filter collaborative filtering.
    Gfcf(GfcfModel),
}

impl Algorithm {
    fn scorer(&self) -> &dyn Scorer {
        match self {
            Algorithm::Corml(m) => m,
            Algorithm::Ease(m) => m,
            Algorithm::Gfcf(m) => m,
        }
    }

    /// The algorithm's name: `corml`, `ease` or `gfcf`.
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::Corml(_) => "corml",
            Algorithm::Ease(_) => "ease",
            Algorithm::Gfcf(_) => "gfcf",
        }
    }
}

/// Wall time of one training stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageTime {
    /// Stage name (as in progress reports).
    pub stage: &'static str,
    /// Seconds spent.
    pub seconds: f64,
}

/// What training found and how long it took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FitInfo {
    /// The backend that ran the dense work.
    pub backend: String,
    /// Why device `auto` ran on the CPU although an NVIDIA driver is present (warn once).
    pub device_fallback: Option<String>,
    /// Item counts of the parts solved (one part when not partitioned).
    pub part_sizes: Vec<usize>,
    /// Stored entries of the item-item matrix (CoRML: after the sparse approximation).
    pub nnz: usize,
    /// Time per stage, in order.
    pub stages: Vec<StageTime>,
    /// Total training seconds.
    pub seconds: f64,
    /// Floating-point operations of the ADMM loop's dense products (CoRML: `2n³` per iteration
    /// after the first, per part, with the dense solver; the Chebyshev steps' work with the
    /// iterative one; 0 for the other models). Divided by the `admm` stage's seconds it gives the
    /// loop's achieved rate.
    pub admm_flops: f64,
    /// The ADMM solver of each part (CoRML), e.g. `dense` or `chebyshev (8 steps, κ ≤ 1.42, …)`.
    pub admm_solvers: Vec<String>,
}

/// A trained model with the id maps and training histories needed to serve it.
pub struct Model {
    algorithm: Algorithm,
    users: Arc<IdMap>,
    items: Arc<IdMap>,
    train: Csr,
    degrees: Vec<f32>,
    info: FitInfo,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("algorithm", &self.algorithm.name())
            .field("users", &self.users.len())
            .field("items", &self.items.len())
            .field("info", &self.info)
            .finish()
    }
}

/// One recommended item and its score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// Item index.
    pub item: u32,
    /// Model score.
    pub score: f32,
}

/// Filters of a recommendation request.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// Drop the items of the user's history (known users: training items; new users: the history).
    pub filter_seen: bool,
    /// Item indices never to recommend.
    pub exclude: Vec<u32>,
    /// If set, only these item indices may be recommended.
    pub include: Option<Vec<u32>>,
}

/// Histories are scored this many rows at a time (bounds the dense score buffer).
pub const SCORE_BATCH: usize = 256;

impl Model {
    /// Wraps a trained algorithm with the training data it was fitted on.
    pub fn new(algorithm: Algorithm, train: &Interactions, info: FitInfo) -> Self {
        Model {
            algorithm,
            users: train.users().clone(),
            items: train.items().clone(),
            degrees: item_degrees(train.matrix()),
            train: train.matrix().clone(),
            info,
        }
    }

    /// The trained algorithm.
    pub fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// Training statistics.
    pub fn info(&self) -> &FitInfo {
        &self.info
    }

    /// Records why device `auto` fell back to the CPU.
    pub(crate) fn set_device_fallback(&mut self, note: Option<String>) {
        self.info.device_fallback = note;
    }

    /// User ids known to the model.
    pub fn users(&self) -> &Arc<IdMap> {
        &self.users
    }

    /// Item ids known to the model.
    pub fn items(&self) -> &Arc<IdMap> {
        &self.items
    }

    /// Training interactions (user × item).
    pub fn train_matrix(&self) -> &Csr {
        &self.train
    }

    /// Training item degrees `max(1, d_i)`.
    pub fn item_degrees(&self) -> &[f32] {
        &self.degrees
    }

    /// The index of a user id, or `UNKNOWN_USER`.
    pub fn user_index(&self, id: &str) -> Result<u32> {
        self.users
            .get(id)
            .ok_or_else(|| Error::UnknownUser(id.to_owned()))
    }

    /// The index of an item id, or `UNKNOWN_ITEM`.
    pub fn item_index(&self, id: &str) -> Result<u32> {
        self.items
            .get(id)
            .ok_or_else(|| Error::UnknownItem(id.to_owned()))
    }

    /// Scores histories into a row-major buffer.
    pub fn score(&self, histories: &Csr) -> Result<Vec<f32>> {
        let mut out = try_vec(histories.rows() * self.items.len())?;
        self.algorithm.scorer().score_into(histories, &mut out)?;
        Ok(out)
    }

    /// Top-`k` items for each known user index, with the given filters.
    pub fn recommend_users(
        &self,
        users: &[u32],
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<Vec<Scored>>> {
        if let Some(&bad) = users.iter().find(|&&u| u as usize >= self.users.len()) {
            return Err(Error::invalid(format!("user index {bad} is out of range")));
        }
        let mut out = Vec::with_capacity(users.len());
        for chunk in users.chunks(SCORE_BATCH) {
            let rows = self.train_rows(chunk);
            out.extend(self.recommend_rows(&rows, k, filters)?);
        }
        Ok(out)
    }

    /// Top-`k` items for a new history of item indices (duplicates ignored).
    pub fn recommend_history(
        &self,
        history: &[u32],
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<Scored>> {
        let pairs: Vec<(u32, u32)> = history.iter().map(|&i| (0, i)).collect();
        let rows = Csr::from_pairs(1, self.items.len(), &pairs)?;
        Ok(self
            .recommend_rows(&rows, k, filters)?
            .pop()
            .unwrap_or_default())
    }

    /// The training rows of `users` (valid indices) as a `users.len() × I` matrix.
    pub(crate) fn train_rows(&self, users: &[u32]) -> Csr {
        let pairs: Vec<(u32, u32)> = users
            .iter()
            .enumerate()
            .flat_map(|(r, &u)| {
                self.train
                    .row_indices(u as usize)
                    .iter()
                    .map(move |&i| (r as u32, i))
            })
            .collect();
        Csr::from_pairs(users.len(), self.items.len(), &pairs).expect("indices come from the model")
    }

    fn recommend_rows(&self, rows: &Csr, k: usize, filters: &Filters) -> Result<Vec<Vec<Scored>>> {
        let n = self.items.len();
        let mut scores = self.score(rows)?;
        let allowed = filters.include.as_ref().map(|inc| {
            let mut mask = vec![false; n];
            inc.iter().for_each(|&i| mask[i as usize] = true);
            mask
        });
        Ok(scores
            .par_chunks_mut(n.max(1))
            .enumerate()
            .map(|(r, row)| {
                if filters.filter_seen {
                    rows.row_indices(r)
                        .iter()
                        .for_each(|&i| row[i as usize] = f32::NEG_INFINITY);
                }
                filters
                    .exclude
                    .iter()
                    .for_each(|&i| row[i as usize] = f32::NEG_INFINITY);
                if let Some(mask) = &allowed {
                    row.iter_mut()
                        .zip(mask)
                        .filter(|(_, &m)| !m)
                        .for_each(|(x, _)| *x = f32::NEG_INFINITY);
                }
                top_k(row, k)
            })
            .collect())
    }
}

/// The `k` best entries of `scores` (highest first, ties by lower index), skipping `-inf`.
pub fn top_k(scores: &[f32], k: usize) -> Vec<Scored> {
    let better = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item));
    let mut cand: Vec<Scored> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > f32::NEG_INFINITY && !s.is_nan())
        .map(|(i, &score)| Scored {
            item: i as u32,
            score,
        })
        .collect();
    if k == 0 {
        return Vec::new();
    }
    if cand.len() > k {
        cand.select_nth_unstable_by(k - 1, better);
        cand.truncate(k);
    }
    cand.sort_unstable_by(better);
    cand
}

/// The low-rank graph-filter scores shared by CoRML and GF-CF:
/// `out ← scale · ((r ⊙ d^-1/2) · V · Vᵀ) ⊙ d^1/2`, row-major `histories.rows() × I`.
pub(crate) fn spectral_scores(
    histories: &Csr,
    v: &Dense,
    inv_sqrt_degree: &[f32],
    sqrt_degree: &[f32],
    scale: f32,
    out: &mut [f32],
) -> Result<()> {
    let n = v.rows();
    let projected = histories
        .scaled(None, Some(inv_sqrt_degree))
        .matmul_dense(v)?;
    // `out` read column-major as I × b is the row-major b × I result.
    let dst = MatMut::from_column_major_slice_mut(out, n, histories.rows());
    matmul(
        dst,
        Accum::Replace,
        v.as_ref(),
        projected.as_ref().transpose(),
        scale,
        Par::rayon(0),
    );
    out.par_chunks_mut(n.max(1)).for_each(|row| {
        row.iter_mut().zip(sqrt_degree).for_each(|(x, s)| *x *= s);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_skips_excluded() {
        let s = [0.5, f32::NEG_INFINITY, 0.9, 0.5, 0.1];
        let t = top_k(&s, 3);
        assert_eq!(t.iter().map(|x| x.item).collect::<Vec<_>>(), vec![2, 0, 3]);
        assert_eq!(top_k(&s, 10).len(), 4);
        assert!(top_k(&s, 0).is_empty());
    }
}
