//! Randomized truncated SVD of a sparse matrix (Halko–Martinsson–Tropp, as `torch.svd_lowrank`).

use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::dense::Dense;
use crate::error::{Error, Result};
use crate::progress::Control;
use crate::sparse::Csr;

/// The top right singular vectors of a matrix and their singular values.
#[derive(Clone, Debug)]
pub struct TruncatedSvd {
    /// Singular values, largest first.
    pub values: Vec<f32>,
    /// Right singular vectors as columns (`cols × k`), in the order of `values`.
    pub vectors: Dense,
}

/// Settings of the randomized SVD.
#[derive(Clone, Copy, Debug)]
pub struct SvdOptions {
    /// Number of singular vectors wanted.
    pub rank: usize,
    /// Size of the random subspace (SPEC.md: `max(4k, 32)`).
    pub oversampled: usize,
    /// Power iterations, each re-orthonormalized by QR (SPEC.md: 10).
    pub power_iterations: usize,
    /// Seed of the random test matrix.
    pub seed: u64,
}

impl SvdOptions {
    /// SPEC.md's settings for rank `k`: `q = max(4k, 32)`, 10 power iterations.
    pub fn spec(rank: usize, seed: u64) -> Self {
        SvdOptions {
            rank,
            oversampled: (4 * rank).max(32),
            power_iterations: 10,
            seed,
        }
    }
}

fn to_dense(m: MatRef<'_, f32>) -> Result<Dense> {
    let mut out = Dense::zeros(m.nrows(), m.ncols())?;
    for j in 0..m.ncols() {
        for (i, x) in out.col_mut(j).iter_mut().enumerate() {
            *x = m[(i, j)];
        }
    }
    Ok(out)
}

/// An orthonormal basis of the column space of `y` (thin Householder QR).
fn orthonormalize(y: &Dense) -> Result<Dense> {
    let q: Mat<f32> = y.as_ref().qr().compute_thin_Q();
    to_dense(q.as_ref())
}

/// Top right singular vectors of `a` (with `at = aᵀ`), by randomized subspace iteration.
///
/// The rank and subspace are clamped to the smaller dimension of `a`.
pub fn randomized_svd(a: &Csr, at: &Csr, opts: SvdOptions, ctl: &Control) -> Result<TruncatedSvd> {
    let min_dim = a.rows().min(a.cols());
    if min_dim == 0 {
        return Err(Error::EmptyData(
            "cannot take the SVD of an empty matrix".into(),
        ));
    }
    let q = opts.oversampled.max(opts.rank).min(min_dim);
    let k = opts.rank.min(q);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let omega = Dense::from_fn(a.cols(), q, |_, _| StandardNormal.sample(&mut rng));
    let mut basis = orthonormalize(&a.matmul_dense(&omega)?)?;
    for _ in 0..opts.power_iterations {
        ctl.check()?;
        let right = orthonormalize(&at.matmul_dense(&basis)?)?;
        basis = orthonormalize(&a.matmul_dense(&right)?)?;
    }
    ctl.check()?;
    // Bᵀ = Aᵀ Q (cols × q); its left singular vectors are A's right singular vectors.
    let bt = at.matmul_dense(&basis)?;
    let svd = bt
        .as_ref()
        .thin_svd()
        .map_err(|e| Error::Numerical(format!("the SVD did not converge: {e:?}")))?;
    let (u, s) = (svd.U(), svd.S().column_vector());
    let mut order: Vec<usize> = (0..s.nrows()).collect();
    order.sort_by(|&x, &y| s[y].total_cmp(&s[x]));
    let mut vectors = Dense::zeros(a.cols(), k)?;
    for (j, &src) in order.iter().take(k).enumerate() {
        for (i, x) in vectors.col_mut(j).iter_mut().enumerate() {
            *x = u[(i, src)];
        }
    }
    let values = order.iter().take(k).map(|&j| s[j]).collect();
    Ok(TruncatedSvd { values, vectors })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random sparse 0/1 matrix with a planted low-rank block structure.
    fn sample(rows: usize, cols: usize, seed: u64) -> Csr {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = Vec::new();
        for u in 0..rows {
            for i in 0..cols {
                let same = (u * 4 / rows) == (i * 4 / cols);
                let p = if same { 0.3 } else { 0.03 };
                if rand::RngExt::random::<f64>(&mut rng) < p {
                    pairs.push((u as u32, i as u32));
                }
            }
        }
        Csr::from_pairs(rows, cols, &pairs).unwrap()
    }

    #[test]
    fn subspace_matches_exact_svd() {
        let a = sample(120, 80, 3);
        let at = a.transpose();
        let k = 6;
        let approx = randomized_svd(&a, &at, SvdOptions::spec(k, 11), &Control::default()).unwrap();
        let dense = Mat::<f64>::from_fn(a.rows(), a.cols(), |r, c| {
            a.row_indices(r)
                .iter()
                .position(|&x| x as usize == c)
                .map_or(0.0, |_| 1.0)
        });
        let exact = dense.thin_svd().unwrap();
        for j in 0..k {
            let rel = (approx.values[j] as f64 - exact.S()[j]).abs() / exact.S()[j];
            assert!(
                rel < 1e-4,
                "singular value {j}: {} vs {}",
                approx.values[j],
                exact.S()[j]
            );
        }
        // Projection of each exact vector onto the approximate subspace keeps its norm.
        for j in 0..k {
            let mut norm2 = 0.0;
            for c in 0..k {
                let dot: f64 = (0..a.cols())
                    .map(|i| approx.vectors.get(i, c) as f64 * exact.V()[(i, j)])
                    .sum();
                norm2 += dot * dot;
            }
            assert!(
                norm2 > 1.0 - 1e-4,
                "vector {j} lies outside the subspace: {norm2}"
            );
        }
    }
}
