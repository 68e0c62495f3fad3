//! GF-CF (Shen et al. 2021): a linear filter `r · R̃ᵀR̃` plus `α` times the ideal low-pass filter
//! `((r ⊙ d^-1/2) · V · Vᵀ) ⊙ d^1/2`, with `R̃` and `V` as in CoRML's spectral part.

use std::time::Instant;

use rayon::prelude::*;

use super::spectral::SpectralFilter;
use super::{Algorithm, FitInfo, Model, Scorer, StageTime};
use crate::dataset::{item_degrees, normalized, Interactions};
use crate::error::{Error, Result};
use crate::progress::Control;
use crate::sparse::Csr;
use crate::svd::{randomized_svd, SvdOptions};

/// GF-CF hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct GfcfParams {
    /// Weight α of the ideal low-pass filter (paper default 0.3).
    pub alpha: f32,
    /// Rank k of the low-pass filter (paper default 256).
    pub eigenvectors: usize,
    /// Seed of the randomized SVD.
    pub seed: u64,
}

impl Default for GfcfParams {
    fn default() -> Self {
        GfcfParams {
            alpha: 0.3,
            eigenvectors: 256,
            seed: 2026,
        }
    }
}

/// A trained GF-CF model.
pub struct GfcfModel {
    params: GfcfParams,
    normalized: Csr,
    normalized_t: Csr,
    graph: SpectralFilter,
}

/// Trains GF-CF (the SVD is its only real work), in the long-work pool of `ctl`'s size.
pub fn fit(train: &Interactions, params: &GfcfParams, ctl: &Control) -> Result<Model> {
    ctl.run(|| fit_here(train, params, ctl))
}

fn fit_here(train: &Interactions, params: &GfcfParams, ctl: &Control) -> Result<Model> {
    if !(params.alpha.is_finite() && params.alpha >= 0.0) || params.eigenvectors == 0 {
        return Err(Error::invalid(format!(
            "alpha = {} must be a finite number ≥ 0 and eigenvectors = {} at least 1",
            params.alpha, params.eigenvectors
        )));
    }
    train.ensure_not_empty()?;
    let start = Instant::now();
    let r = train.matrix();
    let d = item_degrees(r);
    let normalized = normalized(r);
    let normalized_t = normalized.transpose();
    ctl.stage("svd", 0.0)?;
    let v = randomized_svd(
        &normalized,
        &normalized_t,
        SvdOptions::spec(params.eigenvectors, params.seed),
        ctl,
    )?
    .vectors;
    ctl.stage("done", 1.0)?;
    let seconds = start.elapsed().as_secs_f64();
    let info = FitInfo {
        device_fallback: None,
        admm_flops: 0.0,
        admm_solvers: Vec::new(),
        backend: "cpu".into(),
        part_sizes: vec![r.cols()],
        nnz: normalized.nnz(),
        stages: vec![StageTime {
            stage: "svd".into(),
            seconds,
        }],
        seconds,
    };
    let graph = SpectralFilter::new(&v, &d)?;
    let model = GfcfModel::new(params.clone(), normalized, normalized_t, graph);
    Ok(Model::new(Algorithm::Gfcf(model), train, info))
}

impl GfcfModel {
    /// Builds the model from the normalized training matrix `R̃`, its transpose, and the graph
    /// filter of its spectral factor (built with the training item degrees).
    pub fn new(
        params: GfcfParams,
        normalized: Csr,
        normalized_t: Csr,
        graph: SpectralFilter,
    ) -> Self {
        GfcfModel {
            params,
            normalized,
            normalized_t,
            graph,
        }
    }

    /// The hyperparameters it was trained with (`eigenvectors` is `V`'s rank).
    pub fn params(&self) -> &GfcfParams {
        &self.params
    }

    /// Item `j`'s part of item `i`'s score for a unit history weight: the linear filter
    /// `(R̃ᵀR̃)_ji` plus `α` times the low-pass filter's pair term.
    pub fn pair(&self, j: usize, i: usize) -> f32 {
        let (uj, xj) = (
            self.normalized_t.row_indices(j),
            self.normalized_t.row_values(j),
        );
        let (ui, xi) = (
            self.normalized_t.row_indices(i),
            self.normalized_t.row_values(i),
        );
        let (mut a, mut b, mut linear) = (0, 0, 0.0f32);
        while a < uj.len() && b < ui.len() {
            match uj[a].cmp(&ui[b]) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    linear += xj[a] * xi[b];
                    a += 1;
                    b += 1;
                }
            }
        }
        linear + self.params.alpha * self.graph.pair(j, i)
    }

    /// The normalized training matrix `R̃` (users × items).
    pub fn normalized(&self) -> &Csr {
        &self.normalized
    }

    /// `R̃ᵀ` (items × users).
    pub fn normalized_t(&self) -> &Csr {
        &self.normalized_t
    }

    /// The graph filter built on the spectral factor `V`.
    pub fn graph(&self) -> &SpectralFilter {
        &self.graph
    }
}

impl Scorer for GfcfModel {
    fn n_items(&self) -> usize {
        self.normalized.cols()
    }

    fn score_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()> {
        let n = self.n_items();
        self.graph.scores_into(histories, self.params.alpha, out)?;
        let n_users = self.normalized.rows();
        out.par_chunks_mut(n.max(1)).enumerate().for_each_init(
            || (vec![0f32; n_users], Vec::<u32>::new()),
            |(user_weight, touched), (r, row)| {
                // r · R̃ᵀ: weights on the users who share an item with the history.
                for (&i, &w) in histories.row_indices(r).iter().zip(histories.row_values(r)) {
                    let i = i as usize;
                    for (&u, &x) in self
                        .normalized_t
                        .row_indices(i)
                        .iter()
                        .zip(self.normalized_t.row_values(i))
                    {
                        if user_weight[u as usize] == 0.0 {
                            touched.push(u);
                        }
                        user_weight[u as usize] += w * x;
                    }
                }
                // (r · R̃ᵀ) · R̃
                for &u in touched.iter() {
                    let (u, a) = (u as usize, user_weight[u as usize]);
                    for (&j, &x) in self
                        .normalized
                        .row_indices(u)
                        .iter()
                        .zip(self.normalized.row_values(u))
                    {
                        row[j as usize] += a * x;
                    }
                    user_weight[u] = 0.0;
                }
                touched.clear();
            },
        );
        Ok(())
    }
}
