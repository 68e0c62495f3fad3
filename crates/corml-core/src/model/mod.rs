//! Trained models behind one interface: CoRML and its two baselines, EASE and GF-CF
//! (`docs/algorithm.md`).
//!
//! Every model is item-based: it scores any history row (a known user's training row or a new
//! user's items) without retraining.

pub mod corml;
pub mod ease;
pub mod file;
pub mod gfcf;
pub mod hyperparameters;
pub mod spectral;

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use crate::dataset::{item_degrees, IdMap, Interactions};
use crate::dense::{available_memory, format_bytes, try_vec, Scratch};
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
    /// row-major `histories.rows() × n_items()`. Every entry is written (`out` may hold
    /// anything on entry).
    fn score_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()>;

    /// [`Scorer::score_into`], then `finish(r, row)` on each row's scores, rows in parallel. A
    /// scorer that ends with a pass over each row runs `finish` in that pass, while the row is
    /// still in cache (a batch's scores are far larger than the caches).
    fn score_rows(
        &self,
        histories: &Csr,
        out: &mut [f32],
        finish: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Result<()> {
        self.score_into(histories, out)?;
        out.par_chunks_mut(self.n_items().max(1))
            .enumerate()
            .for_each(|(r, row)| finish(r, row));
        Ok(())
    }
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
    pub stage: String,
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
    fingerprint: u64,
    /// The corml-native version that trained the model (read back from a model file).
    version: String,
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

/// Whose history a request is about.
#[derive(Clone, Copy, Debug)]
pub enum Who<'a> {
    /// A user of the training data (their training items).
    User(u32),
    /// A new user's history of item indices (duplicates ignored).
    History(&'a [u32]),
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

/// One history item's part in another item's score (see [`Model::explain`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contribution {
    /// The history item.
    pub item: u32,
    /// Its part through the metric (item-item) weights: CoRML's `H`, EASE's `B`; 0 for GF-CF.
    pub metric: f32,
    /// Its part through the graph filter: CoRML's `G`, all of GF-CF; 0 for EASE.
    pub graph: f32,
}

/// Why an item has its score for a history: the score, its two parts, and each history item's
/// share of them, largest total first. The contributions add up to the parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The item explained.
    pub item: u32,
    /// Its score for the history (what recommendation ranks by).
    pub score: f32,
    /// The metric part of the score.
    pub metric: f32,
    /// The graph-filter part of the score. CoRML clamps its graph term at 0: when the clamp
    /// applies, this and every graph contribution are 0.
    pub graph: f32,
    /// Each history item's part, largest `metric + graph` first.
    pub contributions: Vec<Contribution>,
}

/// One request of [`Model::recommend_requests`].
#[derive(Clone, Copy, Debug)]
pub enum Request<'a> {
    /// A known user, by index: scored from their training row.
    User(u32),
    /// A new history of item indices.
    History(&'a [u32]),
}

/// Results above this size (bytes) are checked against the free memory before they are built.
const LARGE_RESULT_BYTES: u64 = 1 << 28;

/// Histories are scored this many rows at a time (bounds the dense score buffer).
pub const SCORE_BATCH: usize = 256;

impl Model {
    /// Wraps a trained algorithm with the training data it was fitted on.
    pub fn new(algorithm: Algorithm, train: &Interactions, info: FitInfo) -> Self {
        let fingerprint = fingerprint(train.users(), train.items(), train.matrix());
        Model::from_parts(
            algorithm,
            train.users().clone(),
            train.items().clone(),
            train.matrix().clone(),
            info,
            fingerprint,
        )
    }

    /// Assembles a model from its parts (a model file's contents).
    pub(crate) fn from_parts(
        algorithm: Algorithm,
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        train: Csr,
        info: FitInfo,
        fingerprint: u64,
    ) -> Self {
        Model {
            algorithm,
            users,
            items,
            degrees: item_degrees(&train),
            train,
            info,
            fingerprint,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// The corml-native version that trained the model (for a loaded model, the one that
    /// wrote its file).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The model's settings by their JavaScript option names, as text (numbers in their shortest
    /// exact decimal form, booleans as `true` / `false`).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        match &self.algorithm {
            Algorithm::Corml(m) => {
                let p = m.params();
                vec![
                    ("lambda", p.lambda.to_string()),
                    ("dualStepLength", p.dual_step_length.to_string()),
                    ("l2Regularization", p.l2_regularization.to_string()),
                    ("itemDegreeNorm", p.item_degree_norm.to_string()),
                    ("globalScaling", p.global_scaling.to_string()),
                    ("userScaling", p.user_scaling.to_string()),
                    ("eigenvectors", p.eigenvectors.to_string()),
                    ("admmIterations", p.admm_iterations.to_string()),
                    (
                        "partitionRatio",
                        p.partition_ratio
                            .map_or("auto".to_owned(), |r| r.to_string()),
                    ),
                    ("sparseApprox", p.sparse_approx.to_string()),
                    ("seed", p.seed.to_string()),
                    ("device", p.device.to_string()),
                    ("admmSolver", p.admm_solver.to_string()),
                    ("precision", p.precision.to_string()),
                ]
            }
            Algorithm::Ease(m) => vec![("regularization", m.regularization().to_string())],
            Algorithm::Gfcf(m) => {
                let p = m.params();
                vec![
                    ("alpha", p.alpha.to_string()),
                    ("eigenvectors", p.eigenvectors.to_string()),
                    ("seed", p.seed.to_string()),
                ]
            }
        }
    }

    /// A 64-bit fingerprint (xxh3) of the training data: its user and item ids and interactions.
    /// Two models trained on the same data share it.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
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
        // The lists (8 bytes an entry) and a flat copy a caller may make: check large results
        // before building them, since a failed allocation would abort the process. (Small ones,
        // such as one user's, skip the check: reading the free memory costs a system call.)
        let bytes = (users.len() as u64 * k.min(self.items.len()) as u64).saturating_mul(16);
        if bytes > LARGE_RESULT_BYTES {
            let available = available_memory();
            if bytes > available / 2 {
                return Err(Error::OutOfMemory(format!(
                    "{} users × k = {k} needs {} for the results, more than half the {} \
                     available: ask for a smaller k or fewer users per call",
                    users.len(),
                    format_bytes(bytes),
                    format_bytes(available)
                )));
            }
        }
        let mut out = Vec::with_capacity(users.len());
        for chunk in users.chunks(SCORE_BATCH) {
            let rows = self.train_rows(chunk);
            out.extend(self.recommend_rows(&rows, k, filters)?);
        }
        Ok(out)
    }

    /// Top-`k` items for a new history of item indices (duplicates ignored). An empty history
    /// has nothing to score from and gets no items (callers fall back to, say, popular items).
    pub fn recommend_history(
        &self,
        history: &[u32],
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<Scored>> {
        if history.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.history_row(Who::History(history))?;
        Ok(self
            .recommend_rows(&rows, k, filters)?
            .pop()
            .unwrap_or_default())
    }

    /// Top-`k` items for each of many requests, known users and new histories mixed, scored
    /// together in batches (what a server does with the requests that arrive together): for
    /// each, what [`Model::recommend_users`] or [`Model::recommend_history`] gives. An empty
    /// history gets no items.
    pub fn recommend_requests(
        &self,
        requests: &[Request<'_>],
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<Vec<Scored>>> {
        let mut out = vec![Vec::new(); requests.len()];
        let scored: Vec<usize> = (0..requests.len())
            .filter(|&r| !matches!(requests[r], Request::History(h) if h.is_empty()))
            .collect();
        for chunk in scored.chunks(SCORE_BATCH) {
            let mut pairs = Vec::new();
            for (row, &r) in chunk.iter().enumerate() {
                let items = match requests[r] {
                    Request::User(u) => {
                        if u as usize >= self.users.len() {
                            return Err(Error::invalid(format!("user index {u} is out of range")));
                        }
                        self.train.row_indices(u as usize)
                    }
                    Request::History(h) => h,
                };
                pairs.extend(items.iter().map(|&i| (row as u32, i)));
            }
            // `from_pairs` rejects item indices out of range.
            let rows = Csr::from_pairs(chunk.len(), self.items.len(), &pairs)?;
            for (&r, top) in chunk.iter().zip(self.recommend_rows(&rows, k, filters)?) {
                out[r] = top;
            }
        }
        Ok(out)
    }

    /// Top-`k` items for each of many new histories of item indices (duplicates ignored),
    /// scored together in batches: [`Model::recommend_history`] for each, in order. An empty
    /// history gets no items.
    pub fn recommend_histories(
        &self,
        histories: &[Vec<u32>],
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<Vec<Scored>>> {
        let requests: Vec<Request<'_>> = histories.iter().map(|h| Request::History(h)).collect();
        self.recommend_requests(&requests, k, filters)
    }

    /// The `k` most popular items of the training data (most training interactions first, ties
    /// by lower index), with the `exclude` / `include` filters (`filter_seen` has no history to
    /// apply to): the cold-start answer for a user or a history the model cannot score. The
    /// score is the item's number of training interactions.
    pub fn popular_items(&self, k: usize, filters: &Filters) -> Result<Vec<Scored>> {
        self.check_items(&filters.exclude)?;
        if let Some(include) = &filters.include {
            self.check_items(include)?;
        }
        let mut counts: Vec<f32> = self
            .train
            .col_counts()
            .into_iter()
            .map(|c| c as f32)
            .collect();
        for &i in &filters.exclude {
            counts[i as usize] = f32::NEG_INFINITY;
        }
        if let Some(include) = &filters.include {
            let mut allowed = vec![false; counts.len()];
            include.iter().for_each(|&i| allowed[i as usize] = true);
            counts
                .iter_mut()
                .zip(allowed)
                .filter(|(_, allowed)| !allowed)
                .for_each(|(c, _)| *c = f32::NEG_INFINITY);
        }
        Ok(top_k(&counts, k))
    }

    /// Top-`k` items most like `item`: the model's recommendations for a history of that one
    /// item (the item itself is never returned).
    pub fn similar_items(&self, item: u32, k: usize, filters: &Filters) -> Result<Vec<Scored>> {
        self.check_items(&[item])?;
        let filters = Filters {
            filter_seen: true,
            ..filters.clone()
        };
        self.recommend_history(&[item], k, &filters)
    }

    /// Scores of `items` (seen ones included) for a known user or a new history.
    pub fn score_items(&self, who: Who<'_>, items: &[u32]) -> Result<Vec<f32>> {
        self.check_items(items)?;
        let scores = self.score(&self.history_row(who)?)?;
        Ok(items.iter().map(|&i| scores[i as usize]).collect())
    }

    /// Why `item` scores what it does for a known user or a new history.
    pub fn explain(&self, who: Who<'_>, item: u32) -> Result<Explanation> {
        self.check_items(&[item])?;
        let row = self.history_row(who)?;
        let (items, weights) = (row.row_indices(0), row.row_values(0));
        let target = item as usize;
        let mut contributions: Vec<Contribution> = match &self.algorithm {
            Algorithm::Corml(m) => m.contributions(items, weights, target),
            Algorithm::Ease(m) => items
                .iter()
                .zip(weights)
                .map(|(&j, &w)| Contribution {
                    item: j,
                    metric: w * m.weight(j as usize, target),
                    graph: 0.0,
                })
                .collect(),
            Algorithm::Gfcf(m) => items
                .iter()
                .zip(weights)
                .map(|(&j, &w)| Contribution {
                    item: j,
                    metric: 0.0,
                    graph: w * m.pair(j as usize, target),
                })
                .collect(),
        };
        contributions.sort_by(|a, b| {
            (b.metric + b.graph)
                .total_cmp(&(a.metric + a.graph))
                .then(a.item.cmp(&b.item))
        });
        let metric = contributions.iter().map(|c| c.metric).sum();
        let graph = contributions.iter().map(|c| c.graph).sum();
        let score = self.score(&row)?[target];
        Ok(Explanation {
            item,
            score,
            metric,
            graph,
            contributions,
        })
    }

    /// `INVALID_ARGUMENT` unless every item index is below the item count.
    fn check_items(&self, items: &[u32]) -> Result<()> {
        match items.iter().find(|&&i| i as usize >= self.items.len()) {
            Some(bad) => Err(Error::invalid(format!("item index {bad} is out of range"))),
            None => Ok(()),
        }
    }

    /// The one-row history matrix of a known user or a new history.
    fn history_row(&self, who: Who<'_>) -> Result<Csr> {
        match who {
            Who::User(u) => {
                if u as usize >= self.users.len() {
                    return Err(Error::invalid(format!("user index {u} is out of range")));
                }
                Ok(self.train_rows(&[u]))
            }
            Who::History(items) => {
                // `from_pairs` rejects indices out of range.
                let pairs: Vec<(u32, u32)> = items.iter().map(|&i| (0, i)).collect();
                Csr::from_pairs(1, self.items.len(), &pairs)
            }
        }
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
        let mut scores = Scratch::take(rows.rows() * n)?;
        let allowed = filters.include.as_ref().map(|inc| {
            let mut mask = vec![false; n];
            inc.iter().for_each(|&i| mask[i as usize] = true);
            mask
        });
        let tops: Vec<OnceLock<Vec<Scored>>> = (0..rows.rows()).map(|_| OnceLock::new()).collect();
        // Filtering and selecting the top k run in the scorer's last pass over each row.
        let finish = |r: usize, row: &mut [f32]| {
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
            // Each row is finished once.
            let _ = tops[r].set(top_k(row, k));
        };
        self.algorithm
            .scorer()
            .score_rows(rows, &mut scores, &finish)?;
        Ok(tops
            .into_iter()
            .map(|top| top.into_inner().unwrap_or_default())
            .collect())
    }
}

/// The xxh3 fingerprint of training data: ids in index order, then the interaction structure.
pub fn fingerprint(users: &IdMap, items: &IdMap, train: &Csr) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for ids in [users, items] {
        h.update(&(ids.len() as u64).to_le_bytes());
        for name in ids.names() {
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
        }
    }
    for &p in train.indptr() {
        h.update(&(p as u64).to_le_bytes());
    }
    for &i in train.indices() {
        h.update(&i.to_le_bytes());
    }
    h.digest()
}

/// The `k` best entries of `scores` (highest first, ties by lower index), skipping `-inf` and
/// `NaN`.
///
/// For the usual small `k` one pass keeps the best `k` so far in a heap whose top is the worst
/// of them: almost every score is rejected by one comparison and nothing is allocated per
/// item. For `k` close to the number of items a selection over all candidates is cheaper.
pub fn top_k(scores: &[f32], k: usize) -> Vec<Scored> {
    if k == 0 {
        return Vec::new();
    }
    let eligible = |s: f32| s > f32::NEG_INFINITY && !s.is_nan();
    let mut best: Vec<Scored> = if k.saturating_mul(8) < scores.len() {
        let mut heap = std::collections::BinaryHeap::with_capacity(k);
        for (b, block) in scores.chunks(TOP_K_BLOCK).enumerate() {
            // Once the heap is full, a block with no score above its worst is skipped whole:
            // the block's maximum is one vectorized pass (`max` ignores NaN).
            if heap.len() == k {
                let worst = heap.peek().map_or(f32::NEG_INFINITY, |w: &Worst| w.0.score);
                if block.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x)) <= worst {
                    continue;
                }
            }
            for (o, &score) in block.iter().enumerate() {
                if !eligible(score) {
                    continue;
                }
                let i = b * TOP_K_BLOCK + o;
                if heap.len() < k {
                    heap.push(Worst(Scored {
                        item: i as u32,
                        score,
                    }));
                } else if let Some(mut top) = heap.peek_mut() {
                    // Items come in increasing index, so an equal score never beats the top.
                    if score > top.0.score {
                        *top = Worst(Scored {
                            item: i as u32,
                            score,
                        });
                    }
                }
            }
        }
        heap.into_iter().map(|w| w.0).collect()
    } else {
        let mut cand: Vec<Scored> = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| eligible(**s))
            .map(|(i, &score)| Scored {
                item: i as u32,
                score,
            })
            .collect();
        if cand.len() > k {
            cand.select_nth_unstable_by(k - 1, ranking);
            cand.truncate(k);
        }
        cand
    };
    best.sort_unstable_by(ranking);
    best
}

/// Scores per block of [`top_k`]'s skip test.
const TOP_K_BLOCK: usize = 64;

/// The recommendation order: higher score first, then lower item index.
fn ranking(a: &Scored, b: &Scored) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then(a.item.cmp(&b.item))
}

/// A heap entry ordered so that the heap's top is the worst kept candidate.
struct Worst(Scored);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        ranking(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_by_heap_and_by_selection_agree() {
        let scores: Vec<f32> = (0..1000)
            .map(|i| match i % 97 {
                0 => f32::NEG_INFINITY,
                1 => f32::NAN,
                _ => ((i * 7919) % 211) as f32 / 7.0,
            })
            .collect();
        for k in [1, 5, 20, 124, 125, 126, 500, 2000] {
            let fast = top_k(&scores, k);
            let mut all: Vec<Scored> = scores
                .iter()
                .enumerate()
                .filter(|(_, s)| s.is_finite())
                .map(|(i, &score)| Scored {
                    item: i as u32,
                    score,
                })
                .collect();
            all.sort_by(ranking);
            all.truncate(k);
            assert_eq!(fast, all, "k = {k}");
        }
    }

    #[test]
    fn top_k_orders_and_skips_excluded() {
        let s = [0.5, f32::NEG_INFINITY, 0.9, 0.5, 0.1];
        let t = top_k(&s, 3);
        assert_eq!(t.iter().map(|x| x.item).collect::<Vec<_>>(), vec![2, 0, 3]);
        assert_eq!(top_k(&s, 10).len(), 4);
        assert!(top_k(&s, 0).is_empty());
    }
}
