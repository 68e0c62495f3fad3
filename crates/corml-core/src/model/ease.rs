//! EASE (Steck 2019): `P = (RᵀR + reg·I)⁻¹`, `B = -P / diag(P)` column-wise, `diag(B) = 0`.

use std::time::Instant;

use rayon::prelude::*;

use super::{Algorithm, FitInfo, Model, Scorer, StageTime};
use crate::backend::{resolve, Backend};
use crate::dataset::Interactions;
use crate::dense::format_bytes;
use crate::device::{Device, Precision};
use crate::error::{Error, Result};
use crate::progress::Control;
use crate::sparse::Csr;
use crate::storage::Array;
use crate::with_backend;

/// EASE hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct EaseParams {
    /// l2 regularization added to the Gram diagonal (RecBole's default, 250).
    pub regularization: f32,
    /// Where the dense work runs.
    pub device: Device,
    /// Memory the dense work may use, in bytes; `None` asks the backend.
    pub memory_budget: Option<u64>,
}

impl Default for EaseParams {
    fn default() -> Self {
        EaseParams {
            regularization: 250.0,
            device: Device::Auto,
            memory_budget: None,
        }
    }
}

/// A trained EASE model: the dense item-item matrix, stored by rows.
pub struct EaseModel {
    regularization: f32,
    n: usize,
    /// `Bᵀ` column-major (`n × n`): column `i`, at `i·n`, holds row `i` of B, so scoring adds
    /// contiguous columns.
    b_rows: Array<f32>,
}

/// Trains EASE.
pub fn fit(train: &Interactions, params: &EaseParams, ctl: &Control) -> Result<Model> {
    if !(params.regularization.is_finite() && params.regularization > 0.0) {
        return Err(Error::invalid(format!(
            "regularization = {} is out of range: it must be a finite number > 0",
            params.regularization
        )));
    }
    train.ensure_not_empty()?;
    let selection = resolve(params.device, Precision::Fp32)?;
    let mut model =
        ctl.run(|| with_backend!(selection.backend, b => fit_on(b, train, params, ctl)))?;
    model.set_device_fallback(selection.fallback);
    Ok(model)
}

fn fit_on<B: Backend>(
    backend: &B,
    train: &Interactions,
    params: &EaseParams,
    ctl: &Control,
) -> Result<Model> {
    let start = Instant::now();
    let r = train.matrix();
    let n = r.cols();
    let need = 2 * (n as u64).pow(2) * 4;
    let budget = backend.budget(params.memory_budget)?;
    if need > budget {
        return Err(backend.out_of_memory(format!(
            "EASE on {n} items needs {} (two dense {n} × {n} float32 matrices) but only {} is \
             available on {}",
            format_bytes(need),
            format_bytes(budget),
            backend.describe()
        )));
    }
    ctl.stage("gram", 0.0)?;
    let mut g = backend.upload(r.gram(&r.transpose(), None)?)?;
    let gram_s = start.elapsed().as_secs_f64();
    ctl.stage("inverse", 0.2)?;
    backend.scale_add_diagonal(&mut g, 1.0, &vec![params.regularization; n])?;
    let mut p = backend.download(backend.spd_inverse(g, ctl)?)?;
    ctl.check()?;
    // P is symmetric, so row i of B = -P[i, j] / P[j, j] is column i of P scaled per entry.
    let diag: Vec<f32> = (0..n).map(|j| p.get(j, j)).collect();
    p.par_cols_mut().for_each(|(i, col)| {
        col.iter_mut().zip(&diag).for_each(|(x, &pj)| *x = -*x / pj);
        col[i] = 0.0;
    });
    ctl.stage("done", 1.0)?;
    let seconds = start.elapsed().as_secs_f64();
    let info = FitInfo {
        backend: backend.describe(),
        device_fallback: None,
        admm_flops: 0.0,
        admm_solvers: Vec::new(),
        part_sizes: vec![n],
        nnz: n * n,
        stages: vec![
            StageTime {
                stage: "gram".into(),
                seconds: gram_s,
            },
            StageTime {
                stage: "inverse".into(),
                seconds: seconds - gram_s,
            },
        ],
        seconds,
    };
    Ok(Model::new(
        Algorithm::Ease(EaseModel::new(
            params.regularization,
            n,
            p.into_data().into(),
        )?),
        train,
        info,
    ))
}

impl EaseModel {
    /// Wraps the item-item weights of `n` items: `b_rows` is `Bᵀ` column-major, so that
    /// `b_rows[i·n..(i + 1)·n]` is row `i` of `B`.
    pub fn new(regularization: f32, n: usize, b_rows: Array<f32>) -> Result<Self> {
        if n.checked_mul(n) != Some(b_rows.len()) {
            return Err(Error::invalid(format!(
                "{} EASE weights for {n} items",
                b_rows.len()
            )));
        }
        Ok(EaseModel {
            regularization,
            n,
            b_rows,
        })
    }

    /// The l2 regularization it was trained with.
    pub fn regularization(&self) -> f32 {
        self.regularization
    }

    /// `Bᵀ`, column-major: `[i·n..(i + 1)·n]` holds row `i` of `B`.
    pub fn b_rows(&self) -> &[f32] {
        &self.b_rows
    }

    /// Row `i` of `B`.
    fn row(&self, i: usize) -> &[f32] {
        &self.b_rows[i * self.n..(i + 1) * self.n]
    }

    /// Entry `B[i, j]`.
    pub fn weight(&self, i: usize, j: usize) -> f32 {
        self.row(i)[j]
    }
}

impl Scorer for EaseModel {
    fn n_items(&self) -> usize {
        self.n
    }

    fn score_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()> {
        let n = self.n_items();
        out.par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(r, row)| {
                row.fill(0.0);
                for (&i, &w) in histories.row_indices(r).iter().zip(histories.row_values(r)) {
                    row.iter_mut()
                        .zip(self.row(i as usize))
                        .for_each(|(y, b)| *y += w * b);
                }
            });
        Ok(())
    }
}
