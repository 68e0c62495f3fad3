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

/// An orthonormal basis of the columns of the row-major `rows × q` matrix `y`, row-major
/// (thin Householder QR).
fn orthonormalize_rows(y: &[f32], rows: usize, q: usize) -> Result<Vec<f32>> {
    let dense = Dense::from_row_major(rows, q, y)?;
    let basis: Mat<f32> = dense.as_ref().qr().compute_thin_Q();
    let mut out = crate::dense::try_vec(rows * q)?;
    for (i, row) in out.chunks_mut(q.max(1)).enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = basis[(i, j)];
        }
    }
    Ok(out)
}

/// Top right singular vectors of `a` (with `at = aᵀ`), by randomized subspace iteration.
///
/// The subspace is SPEC.md's: `span((AᵀA)^(p+1) Ω)` for `p` power iterations and a Gaussian `Ω`
/// of `q` columns, which is what Halko–Martinsson–Tropp's scheme spans after `A Ω` and `p`
/// rounds of `Aᵀ`, `A`. It is built on the item side only: every round multiplies by `A` and
/// `Aᵀ` and orthonormalizes the `cols × q` result, so the tall `rows × q` matrices are never
/// factored. The vectors are then the Rayleigh–Ritz ones: with `Y = A Q`, the eigenvectors of
/// `YᵀY` rotate `Q` onto the singular directions. All `rows × q` and `cols × q` work is row-major.
///
/// The rank and subspace are clamped to the smaller dimension of `a`.
pub fn randomized_svd(a: &Csr, at: &Csr, opts: SvdOptions, ctl: &Control) -> Result<TruncatedSvd> {
    let (m, n) = (a.rows(), a.cols());
    if m.min(n) == 0 {
        return Err(Error::EmptyData(
            "cannot take the SVD of an empty matrix".into(),
        ));
    }
    let q = opts.oversampled.max(opts.rank).min(m.min(n));
    let k = opts.rank.min(q);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut z = crate::dense::try_vec(n * q)?;
    z.iter_mut()
        .for_each(|x| *x = StandardNormal.sample(&mut rng));
    let mut basis = orthonormalize_rows(&z, n, q)?;
    for _ in 0..=opts.power_iterations {
        ctl.check()?;
        let y = a.matmul_rows(&basis, q)?;
        z = at.matmul_rows(&y, q)?;
        basis = orthonormalize_rows(&z, n, q)?;
    }
    ctl.check()?;
    // Rayleigh–Ritz: YᵀY = Qᵀ AᵀA Q (q × q); a row-major `Y` is the column-major `Yᵀ`.
    let y = a.matmul_rows(&basis, q)?;
    let yt = MatRef::from_column_major_slice(&y, q, m);
    let gram: Mat<f32> = yt * yt.transpose();
    let eig = gram
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("the SVD did not converge: {e:?}")))?;
    let (w, lambda) = (eig.U(), eig.S().column_vector());
    let mut order: Vec<usize> = (0..q).collect();
    order.sort_by(|&x, &y| lambda[y].total_cmp(&lambda[x]));
    let qt = MatRef::from_column_major_slice(&basis, q, n);
    let mut top = Mat::<f32>::zeros(q, k);
    for (j, &src) in order.iter().take(k).enumerate() {
        for i in 0..q {
            top[(i, j)] = w[(i, src)];
        }
    }
    let v: Mat<f32> = qt.transpose() * &top;
    let vectors = Dense::from_fn(n, k, |i, j| v[(i, j)]);
    let values = order
        .iter()
        .take(k)
        .map(|&j| lambda[j].max(0.0).sqrt())
        .collect();
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
