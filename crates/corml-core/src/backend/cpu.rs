//! The multi-threaded CPU backend: faer for products and factorizations, rayon for the fused
//! elementwise passes.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Par};
use rayon::prelude::*;

use super::{product_shape, Backend, Op};
use crate::admm::AdmmSystem;
use crate::dense::{available_memory, format_bytes, Dense};
use crate::error::{Error, Result};
use crate::progress::Control;

/// Columns per panel of a long product; cancellation is checked between panels.
const PANEL: usize = 512;

/// Tile edge of the transposing ADMM pass.
const TILE: usize = 64;

/// The largest part `partitionRatio: 'auto'` gives the CPU: a part's solve grows as `n²`–`n³`,
/// and the paper's own settings keep parts at 11k–20k items (docs/defaults.md).
pub const CPU_AUTO_PART_ITEMS: usize = 15_000;

/// Dense work on the host, parallel on the global rayon pool.
#[derive(Clone, Debug, Default)]
pub struct CpuBackend;

impl CpuBackend {
    /// The CPU backend.
    pub fn new() -> Self {
        CpuBackend
    }

    /// Threads the CPU backend computes with (rayon's global pool; `RAYON_NUM_THREADS` sets it).
    pub fn threads() -> usize {
        rayon::current_num_threads()
    }
}

fn par() -> Par {
    Par::rayon(0)
}

/// A raw pointer that may cross threads; users uphold disjointness of writes.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: the pointer is only dereferenced at indices that no other task touches (see users).
unsafe impl Send for SharedMut {}
// SAFETY: as above.
unsafe impl Sync for SharedMut {}

impl Backend for CpuBackend {
    type Matrix = Dense;

    fn describe(&self) -> String {
        format!("cpu ({} threads)", Self::threads())
    }

    fn memory_budget(&self) -> Result<u64> {
        Ok(available_memory())
    }

    fn upload(&self, m: Dense) -> Result<Dense> {
        Ok(m)
    }

    fn download(&self, m: Dense) -> Result<Dense> {
        Ok(m)
    }

    fn iterative_solves(&self) -> bool {
        true
    }

    fn auto_part_limit(&self) -> Option<usize> {
        Some(CPU_AUTO_PART_ITEMS)
    }

    fn solve_system(
        &self,
        system: &mut AdmmSystem,
        x: &Dense,
        out: &mut Dense,
        ctl: &Control,
    ) -> Result<()> {
        system.solve(x, out, ctl)
    }

    fn apply_coupling(
        &self,
        system: &AdmmSystem,
        x: &Dense,
        out: &mut Dense,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        system.apply_coupling(x, out, alpha, ctl)
    }

    fn zeros(&self, rows: usize, cols: usize) -> Result<Dense> {
        Dense::zeros(rows, cols)
    }

    fn gemm(
        &self,
        c: &mut Dense,
        beta: f32,
        a: &Dense,
        op_a: Op,
        b: &Dense,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        let (_, n, _) = product_shape(
            (c.rows(), c.cols()),
            (a.rows(), a.cols()),
            op_a,
            (b.rows(), b.cols()),
            op_b,
        )?;
        let accum = if beta == 0.0 {
            Accum::Replace
        } else {
            if beta != 1.0 {
                c.data_mut().par_iter_mut().for_each(|x| *x *= beta);
            }
            Accum::Add
        };
        let mut cv = c.as_mut();
        let av = match op_a {
            Op::Plain => a.as_ref(),
            Op::Transposed => a.as_ref().transpose(),
        };
        let bv = b.as_ref();
        let mut start = 0;
        while start < n {
            ctl.check()?;
            let width = PANEL.min(n - start);
            let dst = cv.rb_mut().subcols_mut(start, width);
            let panel = match op_b {
                Op::Plain => bv.subcols(start, width),
                Op::Transposed => bv.subrows(start, width).transpose(),
            };
            matmul(dst, accum, av, panel, alpha, par());
            start += width;
        }
        Ok(())
    }

    fn spd_inverse(&self, mut a: Dense, ctl: &Control) -> Result<Dense> {
        let n = a.rows();
        blocked_cholesky(&mut a, ctl)?;
        // A⁻¹ by forward and backward solves on panels of the identity; the factor's buffer and
        // the result are the only n × n matrices alive.
        let mut out = Dense::zeros(n, n).map_err(|_| {
            Error::OutOfMemory(format!(
                "not enough memory for the {n} × {n} inverse ({} more)",
                format_bytes(n as u64 * n as u64 * 4)
            ))
        })?;
        let l = a.as_ref();
        let mut ov = out.as_mut();
        let mut start = 0;
        while start < n {
            ctl.check()?;
            let width = PANEL.min(n - start);
            let mut panel = ov.rb_mut().subcols_mut(start, width);
            for j in 0..width {
                panel[(start + j, j)] = 1.0;
            }
            // Rows above `start` of L⁻¹·e_j are zero, so the forward solve starts there.
            let below = panel.rb_mut().subrows_mut(start, n - start);
            solve_lower_triangular_in_place(
                l.submatrix(start, start, n - start, n - start),
                below,
                par(),
            );
            solve_upper_triangular_in_place(l.transpose(), panel, par());
            start += width;
        }
        drop(a);
        // The solves agree with the exact symmetric inverse to rounding; make it exactly symmetric.
        let ptr = SharedMut(out.data_mut().as_mut_ptr());
        par_upper_pairs(n, |i, j| {
            let p = ptr;
            // SAFETY: `par_upper_pairs` gives each unordered pair {i, j} to one task only.
            unsafe {
                let mean = 0.5 * (*p.0.add(j * n + i) + *p.0.add(i * n + j));
                *p.0.add(j * n + i) = mean;
                *p.0.add(i * n + j) = mean;
            }
        });
        Ok(out)
    }

    fn scale_add_diagonal(&self, m: &mut Dense, alpha: f32, d: &[f32]) -> Result<()> {
        m.par_cols_mut().for_each(|(j, col)| {
            col.iter_mut().for_each(|x| *x *= alpha);
            col[j] += d[j];
        });
        Ok(())
    }

    fn hollow_clamp_scale(&self, m: &mut Dense, left: &[f32], right: &[f32]) -> Result<()> {
        m.par_cols_mut().for_each(|(j, col)| {
            let r = right[j];
            for (x, &l) in col.iter_mut().zip(left) {
                *x = -l * x.max(0.0) * r;
            }
            col[j] = 0.0;
        });
        Ok(())
    }

    fn admm_step(
        &self,
        h: &mut Dense,
        b: &Dense,
        ainv: &Dense,
        gamma: &mut Dense,
        s: &mut Dense,
        rho: f32,
        next_rhs: bool,
    ) -> Result<()> {
        let n = h.rows();
        let ell: Vec<f32> = (0..n)
            .map(|j| (h.get(j, j) + b.get(j, j)) / (ainv.get(j, j) + 1e-10))
            .collect();
        let (hp, g, sp) = (
            SharedMut(h.data_mut().as_mut_ptr()),
            SharedMut(gamma.data_mut().as_mut_ptr()),
            SharedMut(s.data_mut().as_mut_ptr()),
        );
        let (bd, ad) = (b.data(), ainv.data());
        par_upper_pairs(n, |i, j| {
            let (hp, g, sp) = (hp, g, sp);
            let (ij, ji) = (j * n + i, i * n + j);
            // SAFETY: `par_upper_pairs` gives each unordered pair {i, j} to one task only, and both
            // indices are < n², the length of `h`, `gamma` and `s`.
            unsafe {
                let hij = *hp.0.add(ij) + bd[ij] - ell[j] * ad[ij];
                let hji = *hp.0.add(ji) + bd[ji] - ell[i] * ad[ji];
                let (gij, gji) = (*g.0.add(ij), *g.0.add(ji));
                let sv = (0.5 * ((hij + gij) + (hji + gji))).max(0.0);
                let (gij, gji) = (gij + hij - sv, gji + hji - sv);
                *g.0.add(ij) = gij;
                *g.0.add(ji) = gji;
                if next_rhs {
                    *sp.0.add(ij) = rho * (sv - gij);
                    *sp.0.add(ji) = rho * (sv - gji);
                } else {
                    *sp.0.add(ij) = sv;
                    *sp.0.add(ji) = sv;
                    *hp.0.add(ij) = hij;
                    *hp.0.add(ji) = hji;
                }
            }
        });
        Ok(())
    }
}

/// Calls `f(i, j)` once for every `i ≤ j < n`, in parallel over pairs of `TILE × TILE` tiles, so
/// that the entries `(i, j)` and `(j, i)` of a matrix are only ever touched by one task.
fn par_upper_pairs(n: usize, f: impl Fn(usize, usize) + Sync) {
    let blocks = n.div_ceil(TILE);
    let pairs: Vec<(usize, usize)> = (0..blocks)
        .flat_map(|bi| (bi..blocks).map(move |bj| (bi, bj)))
        .collect();
    pairs.par_iter().for_each(|&(bi, bj)| {
        for j in bj * TILE..((bj + 1) * TILE).min(n) {
            let i_end = if bi == bj {
                j + 1
            } else {
                ((bi + 1) * TILE).min(n)
            };
            for i in bi * TILE..i_end {
                f(i, j);
            }
        }
    });
}

/// The lower Cholesky factor of `a` in place (the strict upper triangle is left as scratch),
/// left-looking by panels of `PANEL` columns with a cancellation check between panels.
fn blocked_cholesky(a: &mut Dense, ctl: &Control) -> Result<()> {
    let n = a.rows();
    let scratch = llt::factor::cholesky_in_place_scratch::<f32>(PANEL, par(), Default::default());
    let mut buf = MemBuffer::try_new(scratch)
        .map_err(|_| Error::OutOfMemory("not enough memory for a Cholesky workspace".into()))?;
    let mut av = a.as_mut();
    let mut k0 = 0;
    while k0 < n {
        ctl.check()?;
        let w = PANEL.min(n - k0);
        if k0 > 0 {
            // A[k0.., k0..k0+w] -= L[k0.., ..k0] · L[k0..k0+w, ..k0]ᵀ
            let (left, mut right) = av.rb_mut().split_at_col_mut(k0);
            let rows = left.rb().subrows(k0, n - k0);
            let block = left.rb().subrows(k0, w);
            let dst = right.rb_mut().submatrix_mut(k0, 0, n - k0, w);
            matmul(dst, Accum::Add, rows, block.transpose(), -1.0, par());
        }
        let diag = av.rb_mut().submatrix_mut(k0, k0, w, w);
        llt::factor::cholesky_in_place(
            diag,
            Default::default(),
            par(),
            MemStack::new(&mut buf),
            Default::default(),
        )
        .map_err(|e| {
            Error::Numerical(format!(
                "a {n} × {n} matrix that should be positive definite is not (near column {k0}: \
                     {e:?}); increase the regularization"
            ))
        })?;
        if k0 + w < n {
            // L[k0+w.., block] = A[k0+w.., block] · L_kk⁻ᵀ, i.e. L_kk · Xᵀ = Aᵀ.
            let (upper, lower) = av.rb_mut().subcols_mut(k0, w).split_at_row_mut(k0 + w);
            solve_lower_triangular_in_place(
                upper.rb().subrows(k0, w),
                lower.transpose_mut(),
                par(),
            );
        }
        k0 += w;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rows: usize, cols: usize, seed: u64) -> Dense {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Dense::from_fn(rows, cols, |_, _| rng.random::<f32>() - 0.5)
    }

    /// Sizes that exercise several panels plus a ragged last one.
    const N: usize = 2 * PANEL + 77;

    #[test]
    fn spd_inverse_inverts_across_panels() {
        let cpu = CpuBackend::new();
        let ctl = Control::default();
        let x = random(N, N, 1);
        let mut a = Dense::zeros(N, N).unwrap();
        cpu.gemm(
            &mut a,
            0.0,
            &x,
            Op::Plain,
            &x,
            Op::Transposed,
            1.0 / N as f32,
            &ctl,
        )
        .unwrap();
        cpu.scale_add_diagonal(&mut a, 1.0, &vec![1.0; N]).unwrap();
        let inv = cpu.spd_inverse(a.clone(), &ctl).unwrap();
        let mut prod = Dense::zeros(N, N).unwrap();
        cpu.gemm(&mut prod, 0.0, &a, Op::Plain, &inv, Op::Plain, 1.0, &ctl)
            .unwrap();
        let mut worst = 0f32;
        for j in 0..N {
            for i in 0..N {
                let expect = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((prod.get(i, j) - expect).abs());
                assert_eq!(inv.get(i, j), inv.get(j, i));
            }
        }
        assert!(worst < 1e-4, "|A·A⁻¹ − I|max = {worst}");
    }

    #[test]
    fn spd_inverse_rejects_an_indefinite_matrix_and_honours_cancel() {
        let cpu = CpuBackend::new();
        let mut a = Dense::zeros(N, N).unwrap();
        cpu.scale_add_diagonal(&mut a, 1.0, &vec![1.0; N]).unwrap();
        a.set(N - 3, N - 3, -1.0);
        let err = cpu.spd_inverse(a.clone(), &Control::default()).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::NumericalError);
        let cancelled = Control::default();
        cancelled
            .cancel_flag()
            .store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            cpu.spd_inverse(a, &cancelled).unwrap_err().code(),
            crate::ErrorCode::Aborted
        );
    }

    #[test]
    fn panelled_gemm_matches_a_plain_product() {
        let cpu = CpuBackend::new();
        let ctl = Control::default();
        let (a, b) = (random(30, 20, 2), random(N, 20, 3));
        let mut c = random(30, N, 4);
        let c0 = c.clone();
        cpu.gemm(&mut c, 0.5, &a, Op::Plain, &b, Op::Transposed, 2.0, &ctl)
            .unwrap();
        for j in (0..N).step_by(97) {
            for i in 0..30 {
                let dot: f32 = (0..20).map(|k| a.get(i, k) * b.get(j, k)).sum();
                let expect = 0.5 * c0.get(i, j) + 2.0 * dot;
                assert!((c.get(i, j) - expect).abs() < 1e-4);
            }
        }
        assert_eq!(
            cpu.gemm(&mut c, 0.0, &a, Op::Plain, &a, Op::Plain, 1.0, &ctl)
                .unwrap_err()
                .code(),
            crate::ErrorCode::InvalidArgument
        );
    }
}
