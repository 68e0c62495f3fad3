//! The low-rank graph filter shared by CoRML's `G` part and GF-CF's ideal low-pass filter:
//! `((r ⊙ d^-1/2) · V · Vᵀ) ⊙ d^1/2`, with `V` (items × k) kept row-major for serving.
//!
//! Row-major `V` makes both halves of a score streaming reads: projecting a history adds the
//! history's rows of `V`, and scoring all items is one dot product of `k` contiguous floats per
//! item. One user's scores read `V` once (42 MB for Gowalla's 40,981 items at k = 256), split
//! over the rayon pool; batches go through a gemm.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::dense::{try_vec, Dense};
use crate::error::{Error, Result};
use crate::sparse::Csr;
use crate::storage::Array;

/// Items scored per task when one history is scored.
const ITEMS_PER_TASK: usize = 2048;
/// Items per gemm when a batch of histories is scored (measured best of 128…2048 on Gowalla).
const ITEMS_PER_GEMM: usize = 512;

/// The graph filter of a trained model.
pub struct SpectralFilter {
    n: usize,
    k: usize,
    v_rows: Array<f32>,
    inv_sqrt_degree: Vec<f32>,
    sqrt_degree: Vec<f32>,
    sumsq: Vec<f32>,
}

impl SpectralFilter {
    /// The filter of spectral factor `v` (items × k) for item degrees `max(1, d_i)`.
    pub fn new(v: &Dense, degrees: &[f32]) -> Result<Self> {
        SpectralFilter::from_rows(v.rows(), v.cols(), v.to_row_major()?.into(), degrees)
    }

    /// The filter of a spectral factor given row-major (`n × k`, `V_ic` at `i·k + c`).
    pub fn from_rows(n: usize, k: usize, v_rows: Array<f32>, degrees: &[f32]) -> Result<Self> {
        if degrees.len() != n || n.checked_mul(k) != Some(v_rows.len()) {
            return Err(Error::invalid(format!(
                "{} degrees and {} entries for a spectral factor of {n} items × {k}",
                degrees.len(),
                v_rows.len()
            )));
        }
        let sumsq = if k == 0 {
            vec![0.0; n]
        } else {
            v_rows
                .chunks_exact(k)
                .map(|row| row.iter().map(|x| x * x).sum())
                .collect()
        };
        Ok(SpectralFilter {
            n,
            k,
            v_rows,
            inv_sqrt_degree: degrees.iter().map(|x| x.powf(-0.5)).collect(),
            sqrt_degree: degrees.iter().map(|x| x.sqrt()).collect(),
            sumsq,
        })
    }

    /// The spectral factor `V` (items × k), as a new column-major matrix.
    pub fn v(&self) -> Result<Dense> {
        Dense::from_row_major(self.n, self.k, &self.v_rows)
    }

    /// `V` row-major (`V_ic` at `i·k + c`).
    pub fn v_rows(&self) -> &[f32] {
        &self.v_rows
    }

    /// Number of items.
    pub fn items(&self) -> usize {
        self.n
    }

    /// The rank `k`.
    pub fn rank(&self) -> usize {
        self.k
    }

    /// `rowsumsq(V)_i = Σ_c V_ic²`.
    pub fn sumsq(&self) -> &[f32] {
        &self.sumsq
    }

    /// Item `j`'s share of item `i`'s filtered score for a unit history weight:
    /// `d_j^-1/2 · (V_j · V_i) · d_i^1/2`.
    pub fn pair(&self, j: usize, i: usize) -> f32 {
        let (a, b) = (self.row(j), self.row(i));
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        self.inv_sqrt_degree[j] * dot * self.sqrt_degree[i]
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.v_rows[i * self.k..(i + 1) * self.k]
    }

    /// `p = Σ_j w_j d_j^-1/2 V_j` for one history.
    fn project(&self, items: &[u32], weights: &[f32], p: &mut [f32]) {
        p.fill(0.0);
        for (&j, &w) in items.iter().zip(weights) {
            let s = w * self.inv_sqrt_degree[j as usize];
            p.iter_mut()
                .zip(self.row(j as usize))
                .for_each(|(a, &v)| *a += s * v);
        }
    }

    /// `d^1/2`, by item: what [`SpectralFilter::raw_into`]'s scores are multiplied by.
    pub fn sqrt_degree(&self) -> &[f32] {
        &self.sqrt_degree
    }

    /// Writes `scale · filter(r)` for every row `r` of `histories` into `out`, row-major
    /// `histories.rows() × items`.
    pub fn scores_into(&self, histories: &Csr, scale: f32, out: &mut [f32]) -> Result<()> {
        self.raw_into(histories, out)?;
        let n = self.n.max(1);
        out.par_chunks_mut(n).for_each(|row| {
            row.iter_mut()
                .zip(&self.sqrt_degree)
                .for_each(|(x, s)| *x *= scale * s);
        });
        Ok(())
    }

    /// Writes `(r ⊙ d^-1/2) · V · Vᵀ` for every row `r` of `histories` into `out` (the filter
    /// before its final `⊙ d^1/2`, which a caller fuses with its own pass over the scores).
    /// Every entry of `out` is written.
    pub fn raw_into(&self, histories: &Csr, out: &mut [f32]) -> Result<()> {
        let (n, k, b) = (self.n, self.k, histories.rows());
        if k == 0 || n == 0 {
            out.fill(0.0);
            return Ok(());
        }
        let mut projected = try_vec(b * k)?;
        projected
            .par_chunks_mut(k)
            .enumerate()
            .for_each(|(r, p)| self.project(histories.row_indices(r), histories.row_values(r), p));
        if b == 1 {
            out.par_chunks_mut(ITEMS_PER_TASK)
                .enumerate()
                .for_each(|(t, chunk)| {
                    let first = t * ITEMS_PER_TASK;
                    let rows = &self.v_rows[first * k..(first + chunk.len()) * k];
                    dot_rows(rows, &projected, chunk);
                });
            return Ok(());
        }
        // One sequential gemm per block of items, the blocks spread over the pool: each packs
        // only its block of `V` (64 KB…0.5 MB, in cache) instead of one parallel gemm packing
        // all of it (42 MB for Gowalla, into a workspace each thread keeps) on every call, and
        // no thread waits on another mid-product. 1.6–2× faster for 16–256 histories.
        let dst = MatMut::from_row_major_slice_mut(out, b, n);
        let lhs = MatRef::from_row_major_slice(&projected, b, k);
        let rhs = MatRef::from_row_major_slice(&self.v_rows, n, k).transpose();
        dst.par_col_chunks_mut(ITEMS_PER_GEMM)
            .enumerate()
            .for_each(|(c, block)| {
                let items = rhs.subcols(c * ITEMS_PER_GEMM, block.ncols());
                matmul(block, Accum::Replace, lhs, items, 1.0, Par::Seq);
            });
        Ok(())
    }
}

/// `out[i] = rows[i] · p` for consecutive rows of length `p.len()`.
fn dot_rows(rows: &[f32], p: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { dot_rows_avx512(rows, p, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { dot_rows_avx2(rows, p, out) };
        }
    }
    dot_rows_generic::<false>(rows, p, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn dot_rows_avx512(rows: &[f32], p: &[f32], out: &mut [f32]) {
    dot_rows_generic::<true>(rows, p, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_rows_avx2(rows: &[f32], p: &[f32], out: &mut [f32]) {
    dot_rows_generic::<true>(rows, p, out)
}

/// The kernel, inlined into each target-feature variant: 16 independent partial sums per row
/// so that the compiler keeps them in vector registers.
#[inline(always)]
fn dot_rows_generic<const FMA: bool>(rows: &[f32], p: &[f32], out: &mut [f32]) {
    const LANES: usize = 16;
    let k = p.len();
    let body = k - k % LANES;
    for (row, o) in rows.chunks_exact(k).zip(out.iter_mut()) {
        let mut acc = [0.0f32; LANES];
        for (a, b) in row[..body]
            .chunks_exact(LANES)
            .zip(p[..body].chunks_exact(LANES))
        {
            for c in 0..LANES {
                acc[c] = if FMA {
                    a[c].mul_add(b[c], acc[c])
                } else {
                    acc[c] + a[c] * b[c]
                };
            }
        }
        let tail: f32 = row[body..].iter().zip(&p[body..]).map(|(x, y)| x * y).sum();
        *o = acc.iter().sum::<f32>() + tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_history_and_batches_agree_with_the_formula() {
        let (n, k) = (300, 37);
        let v = Dense::from_fn(n, k, |i, c| ((i * 7 + c * 3) % 11) as f32 / 11.0 - 0.4);
        let degrees: Vec<f32> = (0..n).map(|i| 1.0 + (i % 9) as f32).collect();
        let f = SpectralFilter::new(&v, &degrees).unwrap();
        let pairs = [(0u32, 3u32), (0, 250), (1, 7), (1, 8), (1, 299), (2, 42)];
        let histories = Csr::from_pairs(3, n, &pairs).unwrap();
        let mut batch = vec![0.0; 3 * n];
        f.scores_into(&histories, 0.5, &mut batch).unwrap();
        for r in 0..3 {
            let hist = histories.row_indices(r);
            let rows: Vec<(u32, u32)> = hist.iter().map(|&j| (0, j)).collect();
            let mut single = vec![0.0; n];
            f.scores_into(&Csr::from_pairs(1, n, &rows).unwrap(), 0.5, &mut single)
                .unwrap();
            for i in 0..n {
                let want: f32 = 0.5 * hist.iter().map(|&j| f.pair(j as usize, i)).sum::<f32>();
                let tol = 1e-4 * (1.0 + want.abs());
                assert!((batch[r * n + i] - want).abs() < tol, "batch {r} {i}");
                assert!((single[i] - want).abs() < tol, "single {r} {i}");
            }
        }
        assert_eq!(f.v().unwrap(), v);
        let sumsq: f32 = (0..k).map(|c| v.get(5, c).powi(2)).sum();
        assert!((f.sumsq()[5] - sumsq).abs() < 1e-5);
    }
}
