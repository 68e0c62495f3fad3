//! CoRML training and scoring, as `docs/algorithm.md` states them, on any [`Backend`]. On the CPU,
//! each ADMM iteration's `A⁻¹X` may come from an iterative solve with `A` in sparse form
//! ([`crate::admm`]) instead of the dense product: the same iterates to fp32 accuracy.

use std::cell::RefCell;
use std::time::Instant;

use rayon::prelude::*;

use super::hyperparameters;
use super::spectral::SpectralFilter;
use super::{fingerprint, Algorithm, Contribution, FitInfo, Model, Scorer, StageTime};
use crate::admm::AdmmSystem;
use crate::backend::{resolve, Backend, Op};
use crate::dataset::{item_degrees, normalized, user_degrees, Interactions};
use crate::dense::{format_bytes, Dense};
use crate::device::{Device, Precision};
use crate::error::{Error, Result};
use crate::partition::spectral_partition;
use crate::progress::{Control, ProgressEvent};
use crate::sparse::Csr;
use crate::storage::Array;
use crate::svd::{randomized_svd, randomized_svd_gram, SvdOptions};
use crate::with_backend;

/// Entries of S below this are dropped when a part is stored (`docs/algorithm.md`, "extract").
pub const KEEP_THRESHOLD: f32 = 5e-4;

/// Dense `n × n` matrices alive at once while a part is solved.
pub const MATRICES_PER_PART: u64 = 5;

/// How many dense-product flops one flop of the iterative solve's sparse panels costs in time
/// (measured on the development machine: see `docs/performance.md`). The cost model of
/// [`AdmmSolver::Auto`] weighs the Chebyshev work by it against the `2n³` dense product.
pub const ITERATIVE_FLOP_COST: f64 = 8.0;

/// How the ADMM's `A⁻¹X` is computed on backends that can do both (the CPU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdmmSolver {
    /// The iterative solve where the cost model says it is cheaper (well-conditioned, sparse
    /// parts: large ρ), else the dense one.
    #[default]
    Auto,
    /// The algorithm as written: a Cholesky inverse and one dense `n³` product per iteration.
    Dense,
    /// Chebyshev iteration with `A` in sparse form, whatever the cost.
    Iterative,
}

impl std::str::FromStr for AdmmSolver {
    type Err = Error;

    /// Parses `auto`, `dense` or `iterative`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(AdmmSolver::Auto),
            "dense" => Ok(AdmmSolver::Dense),
            "iterative" => Ok(AdmmSolver::Iterative),
            _ => Err(Error::invalid(format!(
                "admmSolver `{s}` is not one of 'auto', 'dense', 'iterative'"
            ))),
        }
    }
}

impl std::fmt::Display for AdmmSolver {
    /// `auto`, `dense` or `iterative`, as parsed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AdmmSolver::Auto => "auto",
            AdmmSolver::Dense => "dense",
            AdmmSolver::Iterative => "iterative",
        })
    }
}

/// CoRML hyperparameters (`docs/algorithm.md`, "Hyperparameters"); `Default` gives the defaults
/// of [`hyperparameters::HYPERPARAMETERS`].
#[derive(Clone, Debug, PartialEq)]
pub struct CormlParams {
    /// λ: weight between H (metric part) and G (graph-filter part), in (0, 1].
    pub lambda: f32,
    /// ρ: ADMM penalty / step, > 0.
    pub dual_step_length: f32,
    /// θ: l2 weight on H, scaled by item degree, ≥ 0.
    pub l2_regularization: f32,
    /// t: item degree normalization (lower t, more novel items).
    pub item_degree_norm: f32,
    /// log10 ε: global scale of the approximated ranking weights.
    pub global_scaling: f32,
    /// t_u: user-degree scaling of the ranking weights.
    pub user_scaling: f32,
    /// k: rank of the truncated SVD for G.
    pub eigenvectors: usize,
    /// ADMM iterations.
    pub admm_iterations: usize,
    /// Largest item partition as a share of all items, in (0, 1]; `None` (the default) picks
    /// it at fit time ([`auto_partition_ratio`]). A trained model holds the ratio it used.
    pub partition_ratio: Option<f64>,
    /// Prune H to the storage budget of a 64-dimensional MF model.
    pub sparse_approx: bool,
    /// Seed of the randomized SVDs.
    pub seed: u64,
    /// Where the dense work runs.
    pub device: Device,
    /// How each ADMM iteration's `A⁻¹X` is computed.
    pub admm_solver: AdmmSolver,
    /// Arithmetic of the large products on a GPU (`Tf32` uses tensor cores; the CPU ignores it).
    pub precision: Precision,
    /// Memory the dense work may use, in bytes; `None` asks the backend (free memory now).
    pub memory_budget: Option<u64>,
}

impl Default for CormlParams {
    /// The defaults of [`hyperparameters::HYPERPARAMETERS`], on the first device `Auto` finds.
    fn default() -> Self {
        use hyperparameters as h;
        CormlParams {
            lambda: h::LAMBDA.default as f32,
            dual_step_length: h::DUAL_STEP_LENGTH.default as f32,
            l2_regularization: h::L2_REGULARIZATION.default as f32,
            item_degree_norm: h::ITEM_DEGREE_NORM.default as f32,
            global_scaling: h::GLOBAL_SCALING.default as f32,
            user_scaling: h::USER_SCALING.default as f32,
            eigenvectors: h::EIGENVECTORS.default as usize,
            admm_iterations: h::ADMM_ITERATIONS.default as usize,
            partition_ratio: None,
            sparse_approx: h::SPARSE_APPROX.default != 0.0,
            seed: h::SEED.default as u64,
            device: Device::Auto,
            precision: Precision::Fp32,
            admm_solver: AdmmSolver::Auto,
            memory_budget: None,
        }
    }
}

impl CormlParams {
    /// Checks every value against [`hyperparameters::HYPERPARAMETERS`]; errors name the option,
    /// its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        use hyperparameters as h;
        for (hp, value) in [
            (h::LAMBDA, self.lambda),
            (h::DUAL_STEP_LENGTH, self.dual_step_length),
            (h::L2_REGULARIZATION, self.l2_regularization),
            (h::ITEM_DEGREE_NORM, self.item_degree_norm),
            (h::GLOBAL_SCALING, self.global_scaling),
            (h::USER_SCALING, self.user_scaling),
        ] {
            hp.check(f64::from(value), value)?;
        }
        for (hp, value) in [
            (h::EIGENVECTORS, self.eigenvectors),
            (h::ADMM_ITERATIONS, self.admm_iterations),
        ] {
            hp.check(value as f64, value)?;
        }
        h::SEED.check(self.seed as f64, self.seed)?;
        match self.partition_ratio {
            Some(ratio) => h::PARTITION_RATIO.check(ratio, ratio),
            None => Ok(()),
        }
    }
}

/// A trained CoRML model: the spectral factor `V` and the sparse item-item matrix `H`, kept in
/// the layout scoring reads (`diag(d^-t)·(H + Hᵀ)·diag(d^t)`).
pub struct CormlModel {
    params: CormlParams,
    degrees: Array<f32>,
    graph: SpectralFilter,
    h_scoring: Csr,
}

impl CormlModel {
    /// Builds the model from what training produced (or a model file holds): the item degrees
    /// `max(1, d_i)`, the graph filter of the spectral factor `V` and the upper triangle of `H`.
    /// The scoring layout of `H` is derived here.
    pub fn new(
        params: CormlParams,
        degrees: Vec<f32>,
        graph: SpectralFilter,
        h_upper: Csr,
    ) -> Result<Self> {
        let n = degrees.len();
        if h_upper.rows() != n || h_upper.cols() != n {
            return Err(Error::invalid(format!(
                "CoRML parts disagree: {n} degrees, H {} × {}",
                h_upper.rows(),
                h_upper.cols()
            )));
        }
        let h_scoring = scoring_matrix(&h_upper, &degrees, params.item_degree_norm)?;
        CormlModel::from_scoring(params, degrees.into(), graph, h_scoring)
    }

    /// Builds the model from its scoring layout (what a model file holds): the item degrees,
    /// the graph filter and `diag(d^-t)·(H + Hᵀ)·diag(d^t)`.
    pub fn from_scoring(
        params: CormlParams,
        degrees: Array<f32>,
        graph: SpectralFilter,
        h_scoring: Csr,
    ) -> Result<Self> {
        let n = degrees.len();
        if graph.items() != n || h_scoring.rows() != n || h_scoring.cols() != n {
            return Err(Error::invalid(format!(
                "CoRML parts disagree: {n} degrees, V with {} rows, H {} × {}",
                graph.items(),
                h_scoring.rows(),
                h_scoring.cols()
            )));
        }
        Ok(CormlModel {
            params,
            degrees,
            graph,
            h_scoring,
        })
    }

    /// The training item degrees `max(1, d_i)` it was built with.
    pub fn degrees(&self) -> &[f32] {
        &self.degrees
    }

    /// The hyperparameters it was trained with.
    pub fn params(&self) -> &CormlParams {
        &self.params
    }

    /// The upper-triangular item-item matrix H (diagonal included), recovered from the scoring
    /// layout (to within rounding).
    pub fn h(&self) -> Result<Csr> {
        let t = self.params.item_degree_norm;
        let d = &self.degrees;
        let mut triplets = Vec::with_capacity(self.h_scoring.nnz() / 2 + d.len());
        for i in 0..d.len() {
            let (cols, vals) = (self.h_scoring.row_indices(i), self.h_scoring.row_values(i));
            for (&j, &x) in cols.iter().zip(vals).filter(|(&j, _)| j as usize >= i) {
                let unscaled = x * d[i].powf(t) * d[j as usize].powf(-t);
                let h = if j as usize == i {
                    unscaled / 2.0
                } else {
                    unscaled
                };
                triplets.push((i as u32, j, h));
            }
        }
        Csr::from_sorted_triplets(d.len(), d.len(), &triplets)
    }

    /// `diag(d^-t)·(H + Hᵀ)·diag(d^t)`, the item-item matrix as scoring reads it: a history's
    /// metric scores are its rows summed.
    pub fn scoring(&self) -> &Csr {
        &self.h_scoring
    }

    /// Each history item's metric and graph parts of item `target`'s score (`docs/algorithm.md`,
    /// "Scoring"); the graph parts are 0 when the clamp `max(0, ·)` applies.
    pub(crate) fn contributions(
        &self,
        items: &[u32],
        weights: &[f32],
        target: usize,
    ) -> Vec<Contribution> {
        let graph_weight = 1.0 / self.params.lambda - 1.0;
        let mut out: Vec<Contribution> = items
            .iter()
            .zip(weights)
            .map(|(&j, &w)| {
                let (cols, vals) = (
                    self.h_scoring.row_indices(j as usize),
                    self.h_scoring.row_values(j as usize),
                );
                let metric = cols
                    .binary_search(&(target as u32))
                    .map_or(0.0, |at| w * vals[at]);
                let own = if j as usize == target {
                    w * self.graph.sumsq()[target]
                } else {
                    0.0
                };
                let graph = if graph_weight > 0.0 {
                    w * self.graph.pair(j as usize, target) - own
                } else {
                    0.0
                };
                Contribution {
                    item: j,
                    metric,
                    graph,
                }
            })
            .collect();
        let total: f32 = out.iter().map(|c| c.graph).sum();
        out.iter_mut().for_each(|c| {
            c.graph = if total > 0.0 {
                graph_weight * c.graph
            } else {
                0.0
            }
        });
        out
    }

    /// The graph filter built on the spectral factor `V`.
    pub fn graph(&self) -> &SpectralFilter {
        &self.graph
    }

    /// The spectral factor V (items × k), as a new matrix.
    pub fn v(&self) -> Result<Dense> {
        self.graph.v()
    }
}

/// Wall time per stage, summed over parts, in the order stages first occur.
struct Timer {
    start: Instant,
    last: Instant,
    stages: Vec<StageTime>,
}

impl Timer {
    fn new() -> Self {
        let now = Instant::now();
        Timer {
            start: now,
            last: now,
            stages: Vec::new(),
        }
    }

    /// Charges the time since the previous lap to `stage`.
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let seconds = (now - self.last).as_secs_f64();
        self.last = now;
        match self.stages.iter_mut().find(|s| s.stage == stage) {
            Some(s) => s.seconds += seconds,
            None => self.stages.push(StageTime {
                stage: stage.to_owned(),
                seconds,
            }),
        }
    }

    /// Like [`Timer::lap`], after the backend's queued work has finished.
    fn lap_after<B: Backend>(&mut self, backend: &B, stage: &str) -> Result<()> {
        backend.synchronize()?;
        self.lap(stage);
        Ok(())
    }
}

/// Trains CoRML on `train` (`docs/algorithm.md`, "Training").
/// The CPU work runs in the long-work pool of `ctl`'s size ([`crate::threads`]).
pub fn fit(train: &Interactions, params: &CormlParams, ctl: &Control) -> Result<Model> {
    fit_with(train, params, None, ctl)
}

/// [`fit`], or [`fit_prepared`] with `spectral`, on the backend `params.device` resolves to.
fn fit_with(
    train: &Interactions,
    params: &CormlParams,
    spectral: Option<&Spectral>,
    ctl: &Control,
) -> Result<Model> {
    params.validate()?;
    train.ensure_not_empty()?;
    if let Some(spectral) = spectral {
        spectral.check(train, params)?;
    }
    let selection = resolve(params.device, params.precision)?;
    let mut model = ctl.run(|| {
        with_backend!(selection.backend, b => match spectral {
            Some(spectral) => fit_prepared_on(b, train, params, spectral, ctl),
            None => fit_on(b, train, params, ctl),
        })
    })?;
    model.set_device_fallback(selection.fallback);
    Ok(model)
}

/// [`fit`] on a backend the caller made, instead of the one `params.device` resolves to: an
/// instrumented or wrapped backend (the memory tests count a part's live matrices this way).
pub fn fit_on<B: Backend>(
    backend: &B,
    train: &Interactions,
    params: &CormlParams,
    ctl: &Control,
) -> Result<Model> {
    params.validate()?;
    train.ensure_not_empty()?;
    let spectral = prepare_on(backend, train, params, ctl)?;
    fit_prepared_on(backend, train, params, &spectral, ctl)
}

/// What a fit computes from the training data before it solves any part: the item degrees, the
/// spectral factor `V` and the item parts (`docs/algorithm.md`, "svd" and "partition"). It
/// depends on the data, `eigenvectors`, `seed`, `partitionRatio` and the memory budget only, so
/// fits that differ in the other hyperparameters (the points of a search) can share one:
/// [`prepare`] once, then [`fit_prepared`] for each.
pub struct Spectral {
    /// The training data's fingerprint.
    fingerprint: u64,
    /// The settings it was computed for: `eigenvectors`, `seed`, the partition ratio used.
    eigenvectors: usize,
    seed: u64,
    ratio: f64,
    /// Item degrees `d_i`.
    degrees: Vec<f32>,
    /// Top-k right singular vectors of `diag(d_u^-1/2) R diag(d_i^-1/2)`.
    v: Dense,
    /// The item parts.
    parts: Vec<Vec<u32>>,
    /// Wall time of its stages (`svd`, `partition`).
    stages: Vec<StageTime>,
}

impl Spectral {
    /// The partition ratio it used (the one `'auto'` chose, or the caller's).
    pub fn partition_ratio(&self) -> f64 {
        self.ratio
    }

    /// The item parts, as item indices.
    pub fn parts(&self) -> &[Vec<u32>] {
        &self.parts
    }

    /// Seconds its stages took.
    pub fn seconds(&self) -> f64 {
        self.stages.iter().map(|s| s.seconds).sum()
    }

    /// `INVALID_ARGUMENT` unless it was computed on `train` for `params`' rank, seed and ratio.
    fn check(&self, train: &Interactions, params: &CormlParams) -> Result<()> {
        let r = train.matrix();
        if self.fingerprint != fingerprint(train.users(), train.items(), r) {
            return Err(Error::invalid(
                "the prepared spectral factor was computed on other training data",
            ));
        }
        let same_ratio = params
            .partition_ratio
            .is_none_or(|ratio| ratio == self.ratio);
        if params.eigenvectors != self.eigenvectors || params.seed != self.seed || !same_ratio {
            return Err(Error::invalid(format!(
                "the prepared spectral factor has eigenvectors {}, seed {} and partitionRatio \
                 {}; these settings need another (prepare it with them)",
                self.eigenvectors, self.seed, self.ratio
            )));
        }
        Ok(())
    }
}

/// Computes the [`Spectral`] part of a fit of `train` with `params` on the backend
/// `params.device` resolves to.
pub fn prepare(train: &Interactions, params: &CormlParams, ctl: &Control) -> Result<Spectral> {
    params.validate()?;
    train.ensure_not_empty()?;
    let selection = resolve(params.device, params.precision)?;
    ctl.run(|| with_backend!(selection.backend, b => prepare_on(b, train, params, ctl)))
}

/// [`fit`] reusing `spectral`, which must come from [`prepare`] on the same data with the same
/// `eigenvectors`, `seed` and `partitionRatio` (else `INVALID_ARGUMENT`). The model is the one
/// [`fit`] would train; its `info` charges it the stages `spectral` took.
pub fn fit_prepared(
    train: &Interactions,
    params: &CormlParams,
    spectral: &Spectral,
    ctl: &Control,
) -> Result<Model> {
    fit_with(train, params, Some(spectral), ctl)
}

/// The partition ratio of a fit: the caller's, or the one `'auto'` picks for this backend.
fn partition_ratio<B: Backend>(backend: &B, n_items: usize, params: &CormlParams) -> Result<f64> {
    if let Some(ratio) = params.partition_ratio {
        return Ok(ratio);
    }
    let budget = backend.budget(params.memory_budget)?;
    let k = params.eigenvectors;
    auto_partition_ratio(n_items, k, budget, backend.auto_part_limit()).ok_or_else(|| {
        backend.out_of_memory(format!(
            "partitionRatio 'auto' found no part of at least {MIN_AUTO_PART} items that fits \
             half of the {} available on {}; free memory, or set partitionRatio and \
             memoryBudget yourself",
            format_bytes(budget),
            backend.describe()
        ))
    })
}

/// [`prepare`] on `backend`, for parameters and data already checked.
fn prepare_on<B: Backend>(
    backend: &B,
    train: &Interactions,
    params: &CormlParams,
    ctl: &Control,
) -> Result<Spectral> {
    let mut timer = Timer::new();
    let r = train.matrix();
    let ratio = partition_ratio(backend, r.cols(), params)?;
    if ratio >= 1.0 {
        // One part of all items: its size is known, so fail before any work.
        check_memory(backend, params, r.cols(), r.cols(), params.eigenvectors)?;
    }
    ctl.stage("svd", 0.0)?;
    let degrees = item_degrees(r);
    let v = spectral_factor(backend, r, params, ctl)?;
    timer.lap("svd");
    ctl.stage("partition", 0.05)?;
    let parts = if ratio < 1.0 {
        spectral_partition(r, &degrees, ratio, params.seed, ctl)?
    } else {
        vec![(0..r.cols() as u32).collect()]
    };
    timer.lap("partition");
    Ok(Spectral {
        fingerprint: fingerprint(train.users(), train.items(), r),
        eigenvectors: params.eigenvectors,
        seed: params.seed,
        ratio,
        degrees,
        v,
        parts,
        stages: timer.stages,
    })
}

/// Solves the parts of `spectral` on `backend`, for parameters and data already checked.
fn fit_prepared_on<B: Backend>(
    backend: &B,
    train: &Interactions,
    params: &CormlParams,
    spectral: &Spectral,
    ctl: &Control,
) -> Result<Model> {
    // The model records the ratio it was trained with.
    let params = &CormlParams {
        partition_ratio: Some(spectral.ratio),
        ..params.clone()
    };
    let timer = RefCell::new(Timer::new());
    let reports = RefCell::new(Vec::new());
    let r = train.matrix();
    let (n_users, n_items) = (r.rows(), r.cols());
    let eps = 10f32.powf(params.global_scaling);
    let (d, v, parts) = (&spectral.degrees, &spectral.v, &spectral.parts);
    let phi = user_weights(r, params.user_scaling);
    let largest = parts.iter().map(Vec::len).max().unwrap_or(0);
    check_memory(backend, params, largest, n_items, v.cols())?;

    // 4. Solve each part; progress is weighted by each part's n³ work.
    let work: Vec<f64> = parts.iter().map(|p| (p.len() as f64).powi(3)).collect();
    let total_work: f64 = work.iter().sum::<f64>().max(1.0);
    let mut done_work = 0.0;
    let mut triplets: Vec<(u32, u32, f32)> = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let span = (
            0.05 + 0.93 * done_work / total_work,
            0.93 * work[index] / total_work,
        );
        let solver = PartSolver {
            backend,
            r,
            part,
            degrees: d,
            phi: &phi,
            v,
            params,
            eps,
            index,
            count: parts.len(),
            span,
            ctl,
            timer: &timer,
            reports: &reports,
        };
        triplets.extend(solver.solve()?);
        done_work += work[index];
    }

    // 5. Sparse approximation.
    ctl.stage("sparsify", 0.98)?;
    if params.sparse_approx {
        sparse_approximation(&mut triplets, n_users, n_items);
    }
    let h_upper = upper_from_triplets(n_items, &triplets)?;
    let h_nnz = h_upper.nnz();
    let graph = SpectralFilter::new(v, d)?;
    let model = CormlModel::new(params.clone(), d.clone(), graph, h_upper)?;
    let mut timer = timer.into_inner();
    timer.lap("sparsify");
    ctl.stage("done", 1.0)?;

    let reports = reports.into_inner();
    let info = FitInfo {
        backend: backend.describe(),
        device_fallback: None,
        part_sizes: parts.iter().map(Vec::len).collect(),
        nnz: h_nnz,
        seconds: spectral.seconds() + timer.start.elapsed().as_secs_f64(),
        stages: spectral
            .stages
            .iter()
            .cloned()
            .chain(timer.stages)
            .collect(),
        admm_flops: reports.iter().map(|r| r.admm_flops).sum(),
        admm_solvers: reports.into_iter().map(|r| r.solver).collect(),
    };
    Ok(Model::new(Algorithm::Corml(model), train, info))
}

/// User weights `φ_u = (d_u / max d_u)^(-t_u)`.
fn user_weights(r: &Csr, user_scaling: f32) -> Vec<f32> {
    let du = user_degrees(r);
    let du_max = du.iter().cloned().fold(1.0f32, f32::max);
    du.iter()
        .map(|&x| (x / du_max).powf(-user_scaling))
        .collect()
}

/// Top-k right singular vectors of `diag(d_u^-1/2) R diag(d_i^-1/2)` (`docs/algorithm.md`, "svd").
fn spectral_factor<B: Backend>(
    backend: &B,
    r: &Csr,
    params: &CormlParams,
    ctl: &Control,
) -> Result<Dense> {
    let normalized = normalized(r);
    let svd_opts = SvdOptions::spec(params.eigenvectors, params.seed);
    // On a GPU the subspace iteration runs as dense products with the item Gram matrix,
    // when it fits in half the device's memory (the parts' solves come after it).
    let (n, q) = (r.cols() as u64, svd_opts.oversampled as u64);
    let dense_fits = || -> Result<bool> {
        Ok(4 * (n * n + 2 * n * q + q * q) <= backend.budget(params.memory_budget)? / 2)
    };
    Ok(if backend.prefers_dense_svd() && dense_fits()? {
        let gram = normalized.gram(&normalized.transpose(), None)?;
        randomized_svd_gram(backend, gram, r.rows(), svd_opts, ctl)?.vectors
    } else {
        randomized_svd(&normalized, &normalized.transpose(), svd_opts, ctl)?.vectors
    })
}

/// Bytes the dense solve of a part of `n` items needs.
pub fn part_memory(n: usize, k: usize) -> u64 {
    let n = n as u64;
    MATRICES_PER_PART * n * n * 4 + 2 * n * k as u64 * 4
}

/// Share of the memory budget a part chosen by `partitionRatio: 'auto'` may take: the rest
/// stays free for the process's other work (a model it serves, the scores of an evaluation).
pub const AUTO_MEMORY_SHARE: f64 = 0.5;

/// The smallest part `partitionRatio: 'auto'` accepts; below it the machine is too small.
pub const MIN_AUTO_PART: usize = 256;

/// Parts bounded by memory are rounded down to a multiple of this many items, so that a few
/// megabytes more or less of free memory leave the partition, and so the model, unchanged.
const AUTO_PART_STEP: usize = 1024;

/// The ratio `partitionRatio: 'auto'` picks for `n_items` items at rank `k`: the largest part
/// whose dense solve ([`part_memory`]) fits [`AUTO_MEMORY_SHARE`] of `budget` bytes, at most
/// `limit` items where the backend sets one, and 1 (no partitioning) when every item fits.
/// `None` when not even [`MIN_AUTO_PART`] items fit.
pub fn auto_partition_ratio(
    n_items: usize,
    k: usize,
    budget: u64,
    limit: Option<usize>,
) -> Option<f64> {
    // part_memory(n) = a·n² + b·n ≤ share, solved for n.
    let share = budget as f64 * AUTO_MEMORY_SHARE;
    let a = (MATRICES_PER_PART * 4) as f64;
    let b = 8.0 * k as f64;
    let mut n = (((b * b + 4.0 * a * share).sqrt() - b) / (2.0 * a)).floor() as usize;
    while n > 0 && part_memory(n, k) as f64 > share {
        n -= 1;
    }
    if n < n_items && n >= 2 * AUTO_PART_STEP {
        n -= n % AUTO_PART_STEP;
    }
    let n = limit.map_or(n, |limit| n.min(limit));
    if n >= n_items {
        return Some(1.0);
    }
    if n < MIN_AUTO_PART {
        return None;
    }
    // Half an item above n, so that a part of exactly n items is not split again.
    Some((n as f64 + 0.5) / n_items as f64)
}

fn check_memory<B: Backend>(
    backend: &B,
    params: &CormlParams,
    largest: usize,
    n_items: usize,
    k: usize,
) -> Result<()> {
    let need = part_memory(largest, k);
    let budget = backend.budget(params.memory_budget)?;
    if need <= budget {
        return Ok(());
    }
    let fit_items = ((budget / (MATRICES_PER_PART * 4)) as f64).sqrt() * 0.95;
    let ratio = (fit_items / n_items as f64 * 100.0).floor() / 100.0;
    let advice = if ratio >= 0.01 {
        format!("set partitionRatio to {ratio:.2} or less to fit")
    } else {
        "the machine is too small for this data even with a tiny partitionRatio".to_owned()
    };
    Err(backend.out_of_memory(format!(
        "a part of {largest} items needs {} ({MATRICES_PER_PART} dense {largest} × {largest} float32 \
         matrices) but only {} is available on {}; {advice}",
        format_bytes(need),
        format_bytes(budget),
        backend.describe(),
    )))
}

/// The solve of one item part (`docs/algorithm.md`, "Per part" and "admm").
struct PartSolver<'a, B: Backend> {
    backend: &'a B,
    r: &'a Csr,
    part: &'a [u32],
    degrees: &'a [f32],
    phi: &'a [f32],
    v: &'a Dense,
    params: &'a CormlParams,
    eps: f32,
    index: usize,
    count: usize,
    span: (f64, f64),
    ctl: &'a Control,
    timer: &'a RefCell<Timer>,
    reports: &'a RefCell<Vec<PartReport>>,
}

impl<B: Backend> PartSolver<'_, B> {
    fn report(&self, stage: &'static str, iteration: usize, within: f64) -> Result<()> {
        self.ctl.report(ProgressEvent {
            stage,
            part: self.index + 1,
            parts: self.count,
            iteration,
            iterations: if stage == "admm" {
                self.params.admm_iterations
            } else {
                0
            },
            fraction: self.span.0 + self.span.1 * within,
        })
    }

    /// The stored entries of the part: the upper triangle of S at or above [`KEEP_THRESHOLD`],
    /// in global item ids.
    fn solve(&self) -> Result<Vec<(u32, u32, f32)>> {
        let (h, s) = self.run()?;
        drop(h);
        self.report("extract", 0, 0.99)?;
        let s = self.backend.download(s)?;
        let part = self.part;
        let kept = (0..part.len())
            .into_par_iter()
            .flat_map_iter(|j| {
                let col = s.col(j);
                (0..=j)
                    .filter(move |&i| col[i] >= KEEP_THRESHOLD)
                    .map(move |i| (part[i], part[j], col[i]))
            })
            .collect();
        self.timer.borrow_mut().lap("extract");
        Ok(kept)
    }

    /// The part's ADMM system in sparse form, when this backend solves it iteratively and
    /// `admmSolver` (or, for `auto`, the cost model) says so.
    fn iterative_system(&self, rt: &Csr, diagonal: &[f32]) -> Result<Option<AdmmSystem>> {
        let p = self.params;
        if !self.backend.iterative_solves() || p.admm_solver == AdmmSolver::Dense {
            return Ok(None);
        }
        let weights: Vec<f32> = self.phi.iter().map(|&x| x * self.eps).collect();
        let system = AdmmSystem::new(rt, &weights, diagonal.to_vec())?;
        let n = rt.cols() as f64;
        let cheaper = system.solve_flops() * ITERATIVE_FLOP_COST < 2.0 * n.powi(3);
        Ok((p.admm_solver == AdmmSolver::Iterative || cheaper).then_some(system))
    }

    /// The ADMM iterates `(H, S)` after the last iteration.
    ///
    /// With the dense solver `A⁻¹` comes from a Cholesky factorization and each iteration
    /// multiplies by it (the algorithm as written). With the iterative one, `A⁻¹`, `A⁻¹B` and each
    /// iteration's `A⁻¹X` come from Chebyshev solves with `A` in sparse form, and the graph term
    /// `ε · II · Gp` from sparse products: the same iterates to fp32 accuracy.
    fn run(&self) -> Result<(B::Matrix, B::Matrix)> {
        let (b, p) = (self.backend, self.params);
        let n = self.part.len();
        let (lambda, rho, t) = (p.lambda, p.dual_step_length, p.item_degree_norm);
        let d: Vec<f32> = self
            .part
            .iter()
            .map(|&i| self.degrees[i as usize])
            .collect();
        let ctl = self.ctl;

        self.report("gram", 0, 0.0)?;
        let scale: Vec<f32> = d.iter().map(|x| x.powf(-t)).collect();
        let rt = self.r.select_columns(self.part).scaled(None, Some(&scale));
        let rtt = rt.transpose();
        let diag: Vec<f32> = d.iter().map(|x| p.l2_regularization * x + rho).collect();
        let gram = rt.gram(&rtt, None)?;
        // The dense solver needs II = Rtᵀ diag(φ) Rt as a dense matrix; the iterative one keeps it
        // in sparse form.
        let system = match self.iterative_system(&rt, &diag)? {
            Some(system) => PartSystem::Iterative(Box::new(system)),
            None if self.phi.iter().all(|&x| x == 1.0) => {
                PartSystem::Dense(b.upload(gram.clone())?)
            }
            None => PartSystem::Dense(b.upload(rt.gram(&rtt, Some(self.phi))?)?),
        };
        let mut bm = b.upload(gram)?;
        b.scale_add_diagonal(&mut bm, 0.5 / lambda, &vec![0.0; n])?;
        self.timer.borrow_mut().lap_after(b, "gram")?;
        self.report("graph", 0, 0.01)?;

        if lambda < 1.0 {
            let vp = b.upload(self.v.select_rows(self.part)?)?;
            let mut gp = b.zeros(n, n)?;
            b.gemm(&mut gp, 0.0, &vp, Op::Plain, &vp, Op::Transposed, 1.0, ctl)?;
            drop(vp);
            let left: Vec<f32> = d.iter().map(|x| x.powf(t - 0.5)).collect();
            let right: Vec<f32> = d.iter().map(|x| x.powf(0.5 - t)).collect();
            b.hollow_clamp_scale(&mut gp, &left, &right)?;
            let weight = 1.0 / lambda - 1.0;
            match &system {
                // The system's coupling term is ε · II already.
                PartSystem::Iterative(system) => {
                    b.apply_coupling(system, &gp, &mut bm, weight, ctl)?
                }
                PartSystem::Dense(ii) => b.gemm(
                    &mut bm,
                    1.0,
                    ii,
                    Op::Plain,
                    &gp,
                    Op::Plain,
                    self.eps * weight,
                    ctl,
                )?,
            }
        }

        self.timer.borrow_mut().lap_after(b, "graph")?;
        self.report("factorize", 0, 0.02)?;
        // `system` is `Some` when the iterations solve with A in sparse form. B₀ is dropped as
        // soon as A⁻¹B₀ is formed: the loop below holds exactly MATRICES_PER_PART matrices.
        let (ainv, bm, mut system) = match system {
            PartSystem::Iterative(mut system) => {
                let mut identity = b.zeros(n, n)?;
                b.scale_add_diagonal(&mut identity, 1.0, &vec![1.0; n])?;
                let mut ainv = b.zeros(n, n)?;
                b.solve_system(&mut system, &identity, &mut ainv, ctl)?;
                // B ← A⁻¹ B, into the identity's buffer.
                b.solve_system(&mut system, &bm, &mut identity, ctl)?;
                drop(bm);
                (ainv, identity, Some(system))
            }
            PartSystem::Dense(mut ii) => {
                b.scale_add_diagonal(&mut ii, self.eps, &diag)?;
                let ainv = b.spd_inverse(ii, ctl)?;
                let mut h = b.zeros(n, n)?;
                b.gemm(&mut h, 0.0, &ainv, Op::Plain, &bm, Op::Plain, 1.0, ctl)?;
                drop(bm);
                (ainv, h, None)
            }
        };
        let mut h = b.zeros(n, n)?;
        let mut gamma = b.zeros(n, n)?;
        let mut s = b.zeros(n, n)?;
        self.timer.borrow_mut().lap_after(b, "factorize")?;

        let iters = p.admm_iterations;
        let products = iters.saturating_sub(1) as f64;
        self.reports.borrow_mut().push(match &system {
            Some(system) => PartReport {
                solver: format!(
                    "chebyshev ({} steps, κ ≤ {:.2}, nnz {})",
                    system.steps(),
                    system.bounds().1 / system.bounds().0,
                    system.nnz()
                ),
                admm_flops: system.solve_flops() * products,
            },
            None => PartReport {
                solver: "dense".to_owned(),
                admm_flops: 2.0 * (n as f64).powi(3) * products,
            },
        });
        for it in 0..iters {
            self.report("admm", it + 1, 0.06 + 0.94 * it as f64 / iters as f64)?;
            // H̃ = B + Ainv · ρ(S − Γ); `s` holds ρ(S − Γ), zero before the first iteration.
            if it > 0 {
                match &mut system {
                    Some(system) => b.solve_system(system, &s, &mut h, ctl)?,
                    None => b.gemm_fast(&mut h, 0.0, &ainv, Op::Plain, &s, Op::Plain, 1.0, ctl)?,
                }
            }
            b.admm_step(&mut h, &bm, &ainv, &mut gamma, &mut s, rho, it + 1 < iters)?;
        }
        self.timer.borrow_mut().lap_after(b, "admm")?;
        Ok((h, s))
    }
}

/// How a part's `A` is held until its inverse is formed: in sparse form for the iterative
/// solver, as the dense `II` for the dense one.
enum PartSystem<M> {
    Iterative(Box<AdmmSystem>),
    Dense(M),
}

/// What one part's solve used.
struct PartReport {
    solver: String,
    admm_flops: f64,
}

/// The dense ADMM iterates of one unpartitioned solve (all items as one part) on
/// `params.device`, for tests and diagnostics: `H` has a zero diagonal, `S` is its symmetric
/// non-negative projection.
pub fn admm_iterates(train: &Csr, params: &CormlParams) -> Result<(Dense, Dense)> {
    params.validate()?;
    let selection = resolve(params.device, params.precision)?;
    with_backend!(selection.backend, b => admm_iterates_on(b, train, params))
}

fn admm_iterates_on<B: Backend>(
    backend: &B,
    train: &Csr,
    params: &CormlParams,
) -> Result<(Dense, Dense)> {
    let ctl = Control::default();
    let degrees = item_degrees(train);
    let phi = user_weights(train, params.user_scaling);
    let v = spectral_factor(backend, train, params, &ctl)?;
    let part: Vec<u32> = (0..train.cols() as u32).collect();
    let solver = PartSolver {
        backend,
        r: train,
        part: &part,
        degrees: &degrees,
        phi: &phi,
        v: &v,
        params,
        eps: 10f32.powf(params.global_scaling),
        index: 0,
        count: 1,
        span: (0.0, 1.0),
        ctl: &ctl,
        timer: &RefCell::new(Timer::new()),
        reports: &RefCell::new(Vec::new()),
    };
    let (h, s) = solver.run()?;
    Ok((backend.download(h)?, backend.download(s)?))
}

/// The sparse approximation (`docs/algorithm.md`, "extract and sparsify"): raise a threshold from 1e-4 by ×1.25 until `2·nnz + I + 1 < (U + I)·64`.
fn sparse_approximation(triplets: &mut Vec<(u32, u32, f32)>, n_users: usize, n_items: usize) {
    let budget = ((n_users + n_items) * 64) as f64;
    let mut tau = 1e-4f32;
    while 2.0 * triplets.len() as f64 + n_items as f64 + 1.0 >= budget && !triplets.is_empty() {
        triplets.retain(|&(_, _, x)| x > tau);
        tau *= 1.25;
    }
}

fn upper_from_triplets(n: usize, triplets: &[(u32, u32, f32)]) -> Result<Csr> {
    let mut sorted: Vec<(u32, u32, f32)> = triplets
        .iter()
        .map(|&(i, j, x)| (i.min(j), i.max(j), x))
        .collect();
    sorted.par_sort_unstable_by_key(|&(i, j, _)| (i, j));
    Csr::from_sorted_triplets(n, n, &sorted)
}

/// `diag(d^-t) · (H + Hᵀ) · diag(d^t)`, so that `y_H = r · this` for a binary row `r`.
fn scoring_matrix(h_upper: &Csr, d: &[f32], t: f32) -> Result<Csr> {
    let n = h_upper.rows();
    let mut pairs = Vec::with_capacity(2 * h_upper.nnz());
    for i in 0..n {
        for (&j, &x) in h_upper.row_indices(i).iter().zip(h_upper.row_values(i)) {
            let (a, b) = (i as u32, j);
            pairs.push((a, b, x * d[i].powf(-t) * d[j as usize].powf(t)));
            // The diagonal of H + Hᵀ is twice H's.
            pairs.push((b, a, x * d[j as usize].powf(-t) * d[i].powf(t)));
        }
    }
    pairs.par_sort_unstable_by_key(|&(i, j, _)| (i, j));
    Csr::from_sorted_triplets(n, n, &pairs)
}

impl Scorer for CormlModel {
    fn n_items(&self) -> usize {
        self.degrees.len()
    }

    /// `y = y_G + y_H` (`docs/algorithm.md`, "Scoring").
    fn score_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()> {
        self.score_rows(histories, out, &|_, _| {})
    }

    /// The graph part's product, then one pass per row: its `⊙ d^1/2` and clamp, the metric
    /// part, and `finish`.
    fn score_rows(
        &self,
        histories: &Csr,
        out: &mut [f32],
        finish: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Result<()> {
        let n = self.n_items();
        let graph_weight = 1.0 / self.params.lambda - 1.0;
        if graph_weight > 0.0 {
            self.graph.raw_into(histories, out)?;
        }
        let sqrt_degree = self.graph.sqrt_degree();
        out.par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(r, row)| {
                let (items, weights) = (histories.row_indices(r), histories.row_values(r));
                if graph_weight > 0.0 {
                    row.iter_mut().zip(sqrt_degree).for_each(|(x, s)| *x *= s);
                    for (&i, &w) in items.iter().zip(weights) {
                        row[i as usize] -= w * self.graph.sumsq()[i as usize];
                    }
                    row.iter_mut().for_each(|x| *x = graph_weight * x.max(0.0));
                } else {
                    row.fill(0.0);
                }
                for (&i, &w) in items.iter().zip(weights) {
                    let i = i as usize;
                    for (&j, &x) in self
                        .h_scoring
                        .row_indices(i)
                        .iter()
                        .zip(self.h_scoring.row_values(i))
                    {
                        row[j as usize] += w * x;
                    }
                }
                finish(r, row);
            });
        Ok(())
    }
}
