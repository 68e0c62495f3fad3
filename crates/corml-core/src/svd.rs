//! Randomized truncated SVD of a sparse matrix (Halko–Martinsson–Tropp, as `torch.svd_lowrank`).

use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::backend::{Backend, Op};
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
    /// Size of the random subspace (`max(4k, 32)`).
    pub oversampled: usize,
    /// Power iterations, each re-orthonormalized by QR (10).
    pub power_iterations: usize,
    /// Seed of the random test matrix.
    pub seed: u64,
}

impl SvdOptions {
    /// The settings for rank `k` (`docs/algorithm.md`, "svd"): `q = max(4k, 32)`, 10 power iterations.
    pub fn spec(rank: usize, seed: u64) -> Self {
        SvdOptions {
            rank,
            oversampled: (4 * rank).max(32),
            power_iterations: 10,
            seed,
        }
    }
}

/// An orthonormal basis of the columns of `y` (thin Householder QR).
fn orthonormalize(y: &Dense) -> Result<Dense> {
    let basis: Mat<f32> = y.as_ref().qr().compute_thin_Q();
    Ok(Dense::from_fn(y.rows(), y.cols(), |i, j| basis[(i, j)]))
}

/// The subspace and rank for a matrix whose smaller dimension is `min_dim`.
fn sizes(opts: &SvdOptions, min_dim: usize) -> Result<(usize, usize)> {
    if min_dim == 0 {
        return Err(Error::EmptyData(
            "cannot take the SVD of an empty matrix".into(),
        ));
    }
    let q = opts.oversampled.max(opts.rank).min(min_dim);
    Ok((q, opts.rank.min(q)))
}

/// The orthonormalized Gaussian start `Ω` (`n × q`), the same for every path (drawn in row-major
/// order).
fn start(n: usize, q: usize, seed: u64) -> Result<Dense> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut z = crate::dense::try_vec(n * q)?;
    z.iter_mut()
        .for_each(|x| *x = StandardNormal.sample(&mut rng));
    orthonormalize(&Dense::from_row_major(n, q, &z)?)
}

/// Rayleigh–Ritz: with `projected = Qᵀ AᵀA Q` (`q × q`), the eigenvectors `W` of `projected`
/// rotate the basis `Q` (`n × q`) onto the singular directions: `V = Q W`.
fn ritz(basis: &Dense, projected: Mat<f32>, k: usize) -> Result<TruncatedSvd> {
    let (n, q) = (basis.rows(), basis.cols());
    let eig = projected
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("the SVD did not converge: {e:?}")))?;
    let (w, lambda) = (eig.U(), eig.S().column_vector());
    let mut order: Vec<usize> = (0..q).collect();
    order.sort_by(|&x, &y| lambda[y].total_cmp(&lambda[x]));
    let mut top = Mat::<f32>::zeros(q, k);
    for (j, &src) in order.iter().take(k).enumerate() {
        for i in 0..q {
            top[(i, j)] = w[(i, src)];
        }
    }
    let v: Mat<f32> = basis.as_ref() * &top;
    let vectors = Dense::from_fn(n, k, |i, j| v[(i, j)]);
    let values = order
        .iter()
        .take(k)
        .map(|&j| lambda[j].max(0.0).sqrt())
        .collect();
    Ok(TruncatedSvd { values, vectors })
}

/// Top right singular vectors of `a` (with `at = aᵀ`), by randomized subspace iteration.
///
/// The subspace is `span((AᵀA)^(p+1) Ω)` for `p` power iterations and a Gaussian `Ω`
/// of `q` columns, which is what Halko–Martinsson–Tropp's scheme spans after `A Ω` and `p`
/// rounds of `Aᵀ`, `A`. It is built on the item side only: every round multiplies by `A` and
/// `Aᵀ` and orthonormalizes the `cols × q` result, so the tall `rows × q` matrices are never
/// factored. The vectors are then the Rayleigh–Ritz ones: with `Y = A Q`, the eigenvectors of
/// `YᵀY` rotate `Q` onto the singular directions. The sparse products work on row-major copies.
///
/// The rank and subspace are clamped to the smaller dimension of `a`.
pub fn randomized_svd(a: &Csr, at: &Csr, opts: SvdOptions, ctl: &Control) -> Result<TruncatedSvd> {
    let (m, n) = (a.rows(), a.cols());
    let (q, k) = sizes(&opts, m.min(n))?;
    let mut basis = start(n, q, opts.seed)?;
    for _ in 0..=opts.power_iterations {
        ctl.check()?;
        let y = a.matmul_rows(&basis.to_row_major()?, q)?;
        let z = at.matmul_rows(&y, q)?;
        basis = orthonormalize(&Dense::from_row_major(n, q, &z)?)?;
    }
    ctl.check()?;
    // YᵀY = Qᵀ AᵀA Q; a row-major `Y` is the column-major `Yᵀ`.
    let y = a.matmul_rows(&basis.to_row_major()?, q)?;
    let yt = MatRef::from_column_major_slice(&y, q, m);
    ritz(&basis, yt * yt.transpose(), k)
}

/// The same subspace iteration and Rayleigh–Ritz step as [`randomized_svd`], with `AᵀA` given as
/// the dense `cols × cols` Gram matrix `gram` and every product on `backend`: for a GPU, where
/// `G · Q` is a fast dense product while the sparse products would run on the CPU. `rows` is the
/// row count of `A` (it bounds the rank). The orthonormalizations stay on the host, with the same
/// QR as the sparse path, so the two differ by the rounding of the products only.
pub fn randomized_svd_gram<B: Backend>(
    backend: &B,
    gram: Dense,
    rows: usize,
    opts: SvdOptions,
    ctl: &Control,
) -> Result<TruncatedSvd> {
    let n = gram.rows();
    let (q, k) = sizes(&opts, rows.min(n))?;
    let g = backend.upload(gram)?;
    let mut basis = start(n, q, opts.seed)?;
    let product = |basis: &Dense| -> Result<(B::Matrix, B::Matrix)> {
        let qd = backend.upload(basis.clone())?;
        let mut z = backend.zeros(n, q)?;
        backend.gemm(&mut z, 0.0, &g, Op::Plain, &qd, Op::Plain, 1.0, ctl)?;
        Ok((qd, z))
    };
    for _ in 0..=opts.power_iterations {
        ctl.check()?;
        let (_, z) = product(&basis)?;
        basis = orthonormalize(&backend.download(z)?)?;
    }
    ctl.check()?;
    let (qd, z) = product(&basis)?;
    let mut projected = backend.zeros(q, q)?;
    backend.gemm(
        &mut projected,
        0.0,
        &qd,
        Op::Transposed,
        &z,
        Op::Plain,
        1.0,
        ctl,
    )?;
    let projected = backend.download(projected)?;
    ritz(&basis, Mat::from_fn(q, q, |i, j| projected.get(i, j)), k)
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

    /// The dense-Gram path (here on the CPU backend) follows the same iteration as the sparse
    /// one, so values and subspaces agree to rounding.
    #[test]
    fn gram_path_matches_sparse_path() {
        let data = crate::synthetic::generate(
            &crate::synthetic::SyntheticSpec::ml20m()
                .scaled(0.05)
                .unwrap(),
        )
        .unwrap();
        let a = crate::dataset::normalized(data.matrix());
        let at = a.transpose();
        let opts = SvdOptions::spec(32, 5);
        let sparse = randomized_svd(&a, &at, opts, &Control::default()).unwrap();
        let gram = a.gram(&at, None).unwrap();
        let backend = crate::backend::cpu::CpuBackend::new();
        let dense =
            randomized_svd_gram(&backend, gram, a.rows(), opts, &Control::default()).unwrap();
        for (x, y) in sparse.values.iter().zip(&dense.values) {
            assert!((x - y).abs() <= 1e-4 * x.max(1e-3), "{x} vs {y}");
        }
        let k = sparse.vectors.cols();
        for j in 0..k {
            let norm2: f64 = (0..k)
                .map(|c| {
                    (0..a.cols())
                        .map(|i| sparse.vectors.get(i, j) as f64 * dense.vectors.get(i, c) as f64)
                        .sum::<f64>()
                        .powi(2)
                })
                .sum();
            assert!(norm2 > 1.0 - 1e-3, "vector {j}: {norm2}");
        }
    }
}
