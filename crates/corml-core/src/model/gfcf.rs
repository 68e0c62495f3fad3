//! GF-CF (Shen et al. 2021): a linear filter `r · R̃ᵀR̃` plus `α` times the ideal low-pass filter
//! `((r ⊙ d^-1/2) · V · Vᵀ) ⊙ d^1/2`, with `R̃` and `V` as in CoRML's spectral part.

use std::time::Instant;

use rayon::prelude::*;

use super::{spectral_scores, Algorithm, FitInfo, Model, Scorer, StageTime};
use crate::dataset::{item_degrees, normalized, Interactions};
use crate::dense::Dense;
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
    alpha: f32,
    normalized: Csr,
    normalized_t: Csr,
    v: Dense,
    inv_sqrt_degree: Vec<f32>,
    sqrt_degree: Vec<f32>,
}

/// Trains GF-CF (the SVD is its only real work).
pub fn fit(train: &Interactions, params: &GfcfParams, ctl: &Control) -> Result<Model> {
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
    let inv_sqrt_degree: Vec<f32> = d.iter().map(|x| x.powf(-0.5)).collect();
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
            stage: "svd",
            seconds,
        }],
        seconds,
    };
    let model = GfcfModel {
        alpha: params.alpha,
        normalized,
        normalized_t,
        v,
        sqrt_degree: d.iter().map(|x| x.sqrt()).collect(),
        inv_sqrt_degree,
    };
    Ok(Model::new(Algorithm::Gfcf(model), train, info))
}

impl Scorer for GfcfModel {
    fn n_items(&self) -> usize {
        self.normalized.cols()
    }

    fn score_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()> {
        let n = self.n_items();
        spectral_scores(
            histories,
            &self.v,
            &self.inv_sqrt_degree,
            &self.sqrt_degree,
            self.alpha,
            out,
        )?;
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
