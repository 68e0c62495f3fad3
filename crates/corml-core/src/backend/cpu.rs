//! The multi-threaded CPU backend: faer for products and factorizations, rayon for the fused
//! elementwise passes.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::reborrow::ReborrowMut;
use faer::{Accum, Par};
use rayon::prelude::*;

use super::Backend;
use crate::dense::{available_memory, format_bytes, Dense};
use crate::error::{Error, Result};
use crate::progress::Control;

/// Columns per panel of a long product; cancellation is checked between panels.
const PANEL: usize = 512;

/// Tile edge of the transposing ADMM pass.
const TILE: usize = 64;

/// Dense work on the host, parallel on the global rayon pool.
#[derive(Clone, Debug, Default)]
pub struct CpuBackend;

impl CpuBackend {
    /// The CPU backend.
    pub fn new() -> Self {
        CpuBackend
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
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn memory_budget(&self) -> u64 {
        available_memory()
    }

    fn upload(&self, m: Dense) -> Result<Dense> {
        Ok(m)
    }

    fn download(&self, m: Dense) -> Result<Dense> {
        Ok(m)
    }

    fn zeros(&self, rows: usize, cols: usize) -> Result<Dense> {
        Dense::zeros(rows, cols)
    }

    fn gemm(
        &self,
        c: &mut Dense,
        beta: f32,
        a: &Dense,
        b: &Dense,
        transpose_b: bool,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        let (m, k) = (a.rows(), a.cols());
        let (bk, n) = if transpose_b {
            (b.cols(), b.rows())
        } else {
            (b.rows(), b.cols())
        };
        if k != bk || c.rows() != m || c.cols() != n {
            return Err(Error::invalid(format!(
                "gemm shapes: c {}×{}, a {m}×{k}, b {}×{}{}",
                c.rows(),
                c.cols(),
                b.rows(),
                b.cols(),
                if transpose_b { " (transposed)" } else { "" }
            )));
        }
        let accum = if beta == 0.0 {
            Accum::Replace
        } else {
            if beta != 1.0 {
                c.data_mut().par_iter_mut().for_each(|x| *x *= beta);
            }
            Accum::Add
        };
        let mut cv = c.as_mut();
        let (av, bv) = (a.as_ref(), b.as_ref());
        let mut start = 0;
        while start < n {
            ctl.check()?;
            let width = PANEL.min(n - start);
            let dst = cv.rb_mut().subcols_mut(start, width);
            if transpose_b {
                matmul(
                    dst,
                    accum,
                    av,
                    bv.subrows(start, width).transpose(),
                    alpha,
                    par(),
                );
            } else {
                matmul(dst, accum, av, bv.subcols(start, width), alpha, par());
            }
            start += width;
        }
        Ok(())
    }

    fn spd_inverse(&self, mut a: Dense) -> Result<Dense> {
        let n = a.rows();
        let scratch = llt::factor::cholesky_in_place_scratch::<f32>(n, par(), Default::default());
        let mut buf = MemBuffer::try_new(scratch).map_err(|_| {
            Error::OutOfMemory(format!(
                "not enough memory for a {n} × {n} Cholesky workspace"
            ))
        })?;
        llt::factor::cholesky_in_place(
            a.as_mut(),
            Default::default(),
            par(),
            MemStack::new(&mut buf),
            Default::default(),
        )
        .map_err(|e| {
            Error::Numerical(format!(
                "a {n} × {n} matrix that should be positive definite is not ({e:?}); \
                 increase the regularization"
            ))
        })?;
        // A⁻¹ = L⁻ᵀ L⁻¹, computed with two n × n buffers: L⁻¹ in a new one, the product in `a`'s.
        let mut linv = Dense::zeros(n, n).map_err(|_| {
            Error::OutOfMemory(format!(
                "not enough memory for the {n} × {n} inverse ({} more)",
                format_bytes(n as u64 * n as u64 * 4)
            ))
        })?;
        invert_lower_triangular(linv.as_mut(), a.as_ref(), par());
        triangular::matmul(
            a.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            linv.as_ref().transpose(),
            BlockStructure::TriangularUpper,
            linv.as_ref(),
            BlockStructure::TriangularLower,
            1.0,
            par(),
        );
        drop(linv);
        // Only the lower triangle was written; mirror it.
        let ptr = SharedMut(a.data_mut().as_mut_ptr());
        (0..n).into_par_iter().for_each(|j| {
            let p = ptr;
            for i in j + 1..n {
                // SAFETY: task j reads (i, j) below the diagonal, which no task writes, and writes
                // (j, i) above it; row j of the upper triangle belongs to task j alone.
                unsafe { *p.0.add(i * n + j) = *p.0.add(j * n + i) };
            }
        });
        Ok(a)
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

    fn admm_zero_diagonal(&self, h: &mut Dense, b: &Dense, ainv: &Dense) -> Result<()> {
        h.par_cols_mut().for_each(|(j, col)| {
            let (bc, ac) = (b.col(j), ainv.col(j));
            let ell = (col[j] + bc[j]) / (ac[j] + 1e-10);
            for ((x, &bb), &aa) in col.iter_mut().zip(bc).zip(ac) {
                *x = *x + bb - ell * aa;
            }
        });
        Ok(())
    }

    fn admm_project(
        &self,
        h: &Dense,
        gamma: &mut Dense,
        s: &mut Dense,
        rho: f32,
        next_rhs: bool,
    ) -> Result<()> {
        let n = h.rows();
        let blocks = n.div_ceil(TILE);
        let pairs: Vec<(usize, usize)> = (0..blocks)
            .flat_map(|bi| (bi..blocks).map(move |bj| (bi, bj)))
            .collect();
        let (g, sp) = (
            SharedMut(gamma.data_mut().as_mut_ptr()),
            SharedMut(s.data_mut().as_mut_ptr()),
        );
        let hd = h.data();
        pairs.par_iter().for_each(|&(bi, bj)| {
            let (g, sp) = (g, sp);
            for j in bj * TILE..((bj + 1) * TILE).min(n) {
                let i_end = if bi == bj {
                    j + 1
                } else {
                    ((bi + 1) * TILE).min(n)
                };
                for i in bi * TILE..i_end {
                    let (ij, ji) = (j * n + i, i * n + j);
                    // SAFETY: the tile pair (bi, bj) with bi <= bj is the only task touching the
                    // entries (i, j) and (j, i) of its two tiles, and both indices are < n².
                    unsafe {
                        let (gij, gji) = (*g.0.add(ij), *g.0.add(ji));
                        let sv = (0.5 * (hd[ij] + gij + hd[ji] + gji)).max(0.0);
                        let (gij, gji) = (gij + hd[ij] - sv, gji + hd[ji] - sv);
                        *g.0.add(ij) = gij;
                        *g.0.add(ji) = gji;
                        if next_rhs {
                            *sp.0.add(ij) = rho * (sv - gij);
                            *sp.0.add(ji) = rho * (sv - gji);
                        } else {
                            *sp.0.add(ij) = sv;
                            *sp.0.add(ji) = sv;
                        }
                    }
                }
            }
        });
        Ok(())
    }
}
