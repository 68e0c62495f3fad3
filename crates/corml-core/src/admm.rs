//! The ADMM system of a part in sparse form, and its iterative solve (Chebyshev iteration).
//!
//! Each ADMM iteration needs `A⁻¹ X` for a dense `n × n` right-hand side `X`, where
//! `A = diag(a) + ε · Rtᵀ diag(φ) Rt`: `a_i = ρ + θ d_i`, and `Rt` is the part's scaled
//! interaction matrix. With a large `ρ` (the paper's 5e3 on Gowalla and Yelp2018), `A` is `ρI` plus
//! a small, very well-conditioned perturbation, and a Chebyshev iteration of a handful of steps
//! reaches fp32 accuracy. Each step applies `A` with two sparse products, which costs
//! `4 · nnz(Rt) · n` flops instead of the `2n³` of the dense `A⁻¹ · X`.
//!
//! The iteration needs no inner products, so every column of `X` follows the same recurrence and
//! the columns can be solved in independent panels of [`PANEL`] columns. A panel stays in cache
//! from its first step to its last and needs no `n × n` temporaries.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::dense::Dense;
use crate::error::{Error, Result};
use crate::progress::Control;
use crate::sparse::Csr;

/// Columns solved together: one row of a panel is two AVX-512 registers.
pub const PANEL: usize = 32;

/// Relative accuracy the iteration count is chosen for (the dense fp32 product is about as exact).
pub const TOLERANCE: f64 = 1e-6;

/// The most Chebyshev steps worth taking; beyond this the dense product is cheaper anyway.
pub const MAX_STEPS: usize = 64;

type Row = [f32; PANEL];

/// `A = diag(diagonal) + Rtᵀ diag(weights) Rt` with the spectral bounds the iteration needs.
pub struct AdmmSystem {
    rt: Csr,
    rtt: Csr,
    weights: Vec<f32>,
    diagonal: Vec<f32>,
    /// Lower and upper bounds of A's spectrum.
    bounds: (f64, f64),
    /// The guaranteed (Gershgorin) upper bound, for when the tighter estimate proves too low.
    gershgorin: f64,
    /// Chebyshev steps for [`TOLERANCE`] on `bounds`.
    steps: usize,
    /// Whether a solve has been checked against its true residual yet.
    checked: bool,
}

impl AdmmSystem {
    /// The system for `rt` (users × items of the part, already column-scaled), user weights
    /// `weights` (ε · φ_u) and diagonal `diagonal` (ρ + θ d_i). Users with no entry are dropped.
    pub fn new(rt: &Csr, weights: &[f32], diagonal: Vec<f32>) -> Result<Self> {
        if rt.cols() != diagonal.len() || rt.rows() != weights.len() {
            return Err(Error::invalid("ADMM system: shapes do not match"));
        }
        let active: Vec<u32> = (0..rt.rows())
            .filter(|&u| !rt.row_indices(u).is_empty())
            .map(|u| u as u32)
            .collect();
        let rt = rt.select_rows(&active)?;
        let weights: Vec<f32> = active.iter().map(|&u| weights[u as usize]).collect();
        let rtt = rt.transpose();
        let mut system = AdmmSystem {
            rt,
            rtt,
            weights,
            diagonal,
            bounds: (0.0, 0.0),
            gershgorin: 0.0,
            steps: 1,
            checked: false,
        };
        let (lower, upper, gershgorin) = system.spectral_bounds();
        system.set_bounds(lower, upper);
        system.gershgorin = gershgorin;
        Ok(system)
    }

    /// Order of the system.
    pub fn n(&self) -> usize {
        self.diagonal.len()
    }

    /// Stored entries of `Rt`.
    pub fn nnz(&self) -> usize {
        self.rt.nnz()
    }

    /// Lower and upper bounds of the spectrum of A.
    pub fn bounds(&self) -> (f64, f64) {
        self.bounds
    }

    /// Chebyshev steps per solve.
    pub fn steps(&self) -> usize {
        self.steps
    }

    fn set_bounds(&mut self, lower: f64, upper: f64) {
        self.bounds = (lower, upper);
        self.steps = chebyshev_steps(self.bounds, TOLERANCE);
    }

    /// Floating-point operations of one solve of an `n × n` right-hand side.
    pub fn solve_flops(&self) -> f64 {
        let n = self.n() as f64;
        let apply = 4.0 * self.nnz() as f64 * n + 2.0 * n * n;
        (self.steps.saturating_sub(1)) as f64 * apply + self.steps as f64 * 4.0 * n * n
    }

    /// `y = A x` for one vector.
    fn apply_vector(&self, x: &[f64], y: &mut [f64]) {
        let t: Vec<f64> = (0..self.rt.rows())
            .map(|u| {
                let s: f64 = self
                    .rt
                    .row_indices(u)
                    .iter()
                    .zip(self.rt.row_values(u))
                    .map(|(&i, &v)| v as f64 * x[i as usize])
                    .sum();
                s * self.weights[u] as f64
            })
            .collect();
        y.par_iter_mut().enumerate().for_each(|(i, out)| {
            let s: f64 = self
                .rtt
                .row_indices(i)
                .iter()
                .zip(self.rtt.row_values(i))
                .map(|(&u, &v)| v as f64 * t[u as usize])
                .sum();
            *out = s + self.diagonal[i] as f64 * x[i];
        });
    }

    /// `(lower, upper, gershgorin)`: the lower bound `min a_i` is exact (the sparse term is
    /// positive semi-definite); `gershgorin` is a guaranteed upper bound, and `upper` tightens it
    /// with 60 power iterations and a 5 % margin.
    fn spectral_bounds(&self) -> (f64, f64, f64) {
        let n = self.n();
        if n == 0 {
            return (1.0, 1.0, 1.0);
        }
        let lower = self
            .diagonal
            .iter()
            .map(|&a| a as f64)
            .fold(f64::INFINITY, f64::min);
        // All entries of Rtᵀ diag(w) Rt are ≥ 0, so its row sums are its absolute row sums.
        let mut row_sums = vec![0.0; n];
        self.apply_vector(&vec![1.0; n], &mut row_sums);
        let gershgorin = row_sums.iter().cloned().fold(lower, f64::max);
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let mut v: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        let mut av = vec![0.0; n];
        let mut estimate = lower;
        for _ in 0..60 {
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
            v.iter_mut().for_each(|x| *x /= norm);
            self.apply_vector(&v, &mut av);
            estimate = v.iter().zip(&av).map(|(a, b)| a * b).sum::<f64>();
            std::mem::swap(&mut v, &mut av);
        }
        (
            lower,
            gershgorin.min(1.05 * estimate).max(lower),
            gershgorin,
        )
    }

    /// `out ← A⁻¹ x` for a dense `n × n` (or `n × m`) right-hand side, by Chebyshev iteration
    /// from zero, column panels in parallel.
    ///
    /// The first solve is checked against its true residual: when the power estimate of the upper
    /// bound was too low, the system falls back to the guaranteed Gershgorin bound and solves again.
    pub fn solve(&mut self, x: &Dense, out: &mut Dense, ctl: &Control) -> Result<()> {
        self.chebyshev(x, out, ctl)?;
        if self.checked {
            return Ok(());
        }
        self.checked = true;
        if self.residual(x, out) <= 100.0 * TOLERANCE {
            return Ok(());
        }
        self.set_bounds(self.bounds.0, self.gershgorin);
        self.chebyshev(x, out, ctl)
    }

    fn chebyshev(&self, x: &Dense, out: &mut Dense, ctl: &Control) -> Result<()> {
        let ((lower, upper), steps) = (self.bounds, self.steps);
        let theta = 0.5 * (upper + lower);
        let delta = 0.5 * (upper - lower);
        self.for_each_panel(x, out, ctl, |buf, out_panel, width| {
            // r₀ = x (the start is zero), d₀ = r₀ / θ, y = 0.
            let inv_theta = (1.0 / theta) as f32;
            for (r, d) in buf.r.iter().zip(buf.d.iter_mut()) {
                for c in 0..PANEL {
                    d[c] = r[c] * inv_theta;
                }
            }
            buf.y.iter_mut().for_each(|y| *y = [0.0; PANEL]);
            let sigma = theta / delta.max(f64::MIN_POSITIVE);
            let mut rho = 1.0 / sigma;
            for step in 0..steps {
                for (y, d) in buf.y.iter_mut().zip(&buf.d) {
                    for c in 0..PANEL {
                        y[c] += d[c];
                    }
                }
                if step + 1 == steps || delta == 0.0 {
                    break;
                }
                self.apply_panel(&buf.d, &mut buf.t, &mut buf.q);
                let rho_next = 1.0 / (2.0 * sigma - rho);
                let (keep, take) = ((rho_next * rho) as f32, (2.0 * rho_next / delta) as f32);
                for ((r, d), q) in buf.r.iter_mut().zip(buf.d.iter_mut()).zip(&buf.q) {
                    for c in 0..PANEL {
                        r[c] -= q[c];
                        d[c] = keep * d[c] + take * r[c];
                    }
                }
                rho = rho_next;
            }
            let n = buf.y.len();
            for c in 0..width {
                for (o, row) in out_panel[c * n..(c + 1) * n].iter_mut().zip(&buf.y) {
                    *o = row[c];
                }
            }
        })
    }

    /// Runs `f(buffers, out_panel, width)` for each panel of up to [`PANEL`] columns of `x`, in
    /// parallel, with the panel's columns of `x` copied into `buffers.r` (rows of [`PANEL`]
    /// floats, zero-padded past `width`) and `out_panel` the same columns of `out`.
    fn for_each_panel(
        &self,
        x: &Dense,
        out: &mut Dense,
        ctl: &Control,
        f: impl Fn(&mut Buffers, &mut [f32], usize) + Sync,
    ) -> Result<()> {
        let (n, m) = (x.rows(), x.cols());
        if n != self.n() || out.rows() != n || out.cols() != m {
            return Err(Error::invalid("ADMM system: operand shape"));
        }
        ctl.check()?;
        if n == 0 || m == 0 {
            return Ok(());
        }
        let users = self.rt.rows();
        let xd = x.data();
        out.data_mut()
            .par_chunks_mut(n * PANEL)
            .enumerate()
            .try_for_each_init(
                || Buffers::new(n, users),
                |buf, (p, out_panel)| {
                    ctl.check()?;
                    let first = p * PANEL;
                    let width = PANEL.min(m - first);
                    for (i, row) in buf.r.iter_mut().enumerate() {
                        for (c, v) in row.iter_mut().enumerate() {
                            *v = if c < width {
                                xd[(first + c) * n + i]
                            } else {
                                0.0
                            };
                        }
                    }
                    f(buf, out_panel, width);
                    Ok(())
                },
            )
    }

    /// `out ← out + alpha · Rtᵀ diag(w) Rt x`: the sparse coupling term of `A` alone, applied to a
    /// dense right-hand side in column panels (the graph-filter term `ε · II · Gp`).
    pub fn apply_coupling(
        &self,
        x: &Dense,
        out: &mut Dense,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        self.for_each_panel(x, out, ctl, |buf, out_panel, width| {
            gather_rows(&self.rt, &buf.r, &mut buf.t, Some(&self.weights), None);
            gather_rows(&self.rtt, &buf.t, &mut buf.q, None, None);
            let n = buf.q.len();
            for c in 0..width {
                for (o, row) in out_panel[c * n..(c + 1) * n].iter_mut().zip(&buf.q) {
                    *o += alpha * row[c];
                }
            }
        })
    }

    /// `q = A d` for a panel: `t = diag(w) Rt d`, then `q = Rtᵀ t + diag(a) d`.
    fn apply_panel(&self, d: &[Row], t: &mut [Row], q: &mut [Row]) {
        gather_rows(&self.rt, d, t, Some(&self.weights), None);
        gather_rows(&self.rtt, t, q, None, Some((&self.diagonal, d)));
    }

    /// `‖A y − x‖_F / ‖x‖_F` over the first panel of columns: how well a solve did.
    pub fn residual(&self, x: &Dense, y: &Dense) -> f64 {
        let n = self.n();
        let width = PANEL.min(x.cols());
        let (mut num, mut den) = (0.0f64, 0.0f64);
        let mut ay = vec![0.0; n];
        for c in 0..width {
            let yc: Vec<f64> = y.col(c).iter().map(|&v| v as f64).collect();
            self.apply_vector(&yc, &mut ay);
            for (a, &b) in ay.iter().zip(x.col(c)) {
                num += (a - b as f64).powi(2);
                den += (b as f64).powi(2);
            }
        }
        (num / den.max(1e-300)).sqrt()
    }
}

/// Steps for a relative error of `tol` on `[lower, upper]`: `2√κ · r^m ≤ tol` with
/// `r = (√κ − 1)/(√κ + 1)`.
pub fn chebyshev_steps((lower, upper): (f64, f64), tol: f64) -> usize {
    let kappa = (upper / lower).max(1.0);
    let s = kappa.sqrt();
    let r = (s - 1.0) / (s + 1.0);
    if r <= 0.0 {
        return 1;
    }
    ((2.0 * s / tol).ln() / (1.0 / r).ln())
        .ceil()
        .clamp(1.0, MAX_STEPS as f64) as usize
}

/// Per-thread panel buffers: `n × PANEL` for the iterate, residual (which starts as the panel of
/// `x`), direction and product, and `users × PANEL` for the intermediate `Rt d`.
struct Buffers {
    y: Vec<Row>,
    r: Vec<Row>,
    d: Vec<Row>,
    q: Vec<Row>,
    t: Vec<Row>,
}

impl Buffers {
    fn new(n: usize, users: usize) -> Self {
        Buffers {
            y: vec![[0.0; PANEL]; n],
            r: vec![[0.0; PANEL]; n],
            d: vec![[0.0; PANEL]; n],
            q: vec![[0.0; PANEL]; n],
            t: vec![[0.0; PANEL]; users],
        }
    }
}

/// `dst[r] = scale_r · Σ_k m_rk src[k] (+ diag_r · add[r])` over the rows of CSR `m`.
fn gather_rows(
    m: &Csr,
    src: &[Row],
    dst: &mut [Row],
    scale: Option<&[f32]>,
    plus_diagonal: Option<(&[f32], &[Row])>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { gather_rows_avx512(m, src, dst, scale, plus_diagonal) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { gather_rows_avx2(m, src, dst, scale, plus_diagonal) };
        }
    }
    gather_rows_generic::<false>(m, src, dst, scale, plus_diagonal)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn gather_rows_avx512(
    m: &Csr,
    src: &[Row],
    dst: &mut [Row],
    scale: Option<&[f32]>,
    plus_diagonal: Option<(&[f32], &[Row])>,
) {
    gather_rows_generic::<true>(m, src, dst, scale, plus_diagonal)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gather_rows_avx2(
    m: &Csr,
    src: &[Row],
    dst: &mut [Row],
    scale: Option<&[f32]>,
    plus_diagonal: Option<(&[f32], &[Row])>,
) {
    gather_rows_generic::<true>(m, src, dst, scale, plus_diagonal)
}

/// The kernel, inlined into each target-feature variant so that it is vectorized for it. With
/// `FMA` the products are fused multiply-adds (only where the CPU has them: elsewhere `mul_add`
/// would be a slow library call).
#[inline(always)]
fn gather_rows_generic<const FMA: bool>(
    m: &Csr,
    src: &[Row],
    dst: &mut [Row],
    scale: Option<&[f32]>,
    plus_diagonal: Option<(&[f32], &[Row])>,
) {
    for (r, out) in dst.iter_mut().enumerate() {
        let mut acc = [0.0f32; PANEL];
        for (&k, &v) in m.row_indices(r).iter().zip(m.row_values(r)) {
            let s = &src[k as usize];
            for c in 0..PANEL {
                acc[c] = if FMA {
                    v.mul_add(s[c], acc[c])
                } else {
                    acc[c] + v * s[c]
                };
            }
        }
        if let Some(scale) = scale {
            let f = scale[r];
            acc.iter_mut().for_each(|a| *a *= f);
        }
        if let Some((diagonal, add)) = plus_diagonal {
            let (a, x) = (diagonal[r], &add[r]);
            for c in 0..PANEL {
                acc[c] = if FMA {
                    a.mul_add(x[c], acc[c])
                } else {
                    acc[c] + a * x[c]
                };
            }
        }
        *out = acc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;
    use rand::RngExt;

    /// A random 0/1 users × items matrix with column scaling, weights and a diagonal like the
    /// ADMM's (ρ + θ d_i).
    fn problem(users: usize, items: usize, rho: f32, seed: u64) -> (Csr, Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = Vec::new();
        for u in 0..users {
            for i in 0..items {
                if rng.random::<f64>() < 0.15 {
                    pairs.push((u as u32, i as u32));
                }
            }
        }
        let r = Csr::from_pairs(users, items, &pairs).unwrap();
        let scale: Vec<f32> = (0..items).map(|i| 0.5 + (i % 5) as f32 * 0.2).collect();
        let weights: Vec<f32> = (0..users).map(|u| 1.0 + (u % 3) as f32).collect();
        let degrees = r.col_counts();
        let diagonal = degrees.iter().map(|&d| rho + d as f32).collect();
        (r.scaled(None, Some(&scale)), weights, diagonal)
    }

    /// A as a dense float64 matrix.
    fn dense_a(rt: &Csr, weights: &[f32], diagonal: &[f32]) -> Mat<f64> {
        let n = rt.cols();
        let mut a = Mat::<f64>::zeros(n, n);
        for (u, &w) in weights.iter().enumerate() {
            let (idx, val) = (rt.row_indices(u), rt.row_values(u));
            for (&i, &x) in idx.iter().zip(val) {
                for (&j, &y) in idx.iter().zip(val) {
                    a[(i as usize, j as usize)] += w as f64 * x as f64 * y as f64;
                }
            }
        }
        for (i, &d) in diagonal.iter().enumerate() {
            a[(i, i)] += d as f64;
        }
        a
    }

    #[test]
    fn bounds_bracket_the_spectrum_and_steps_follow_the_condition() {
        for rho in [1.0f32, 50.0, 5e3] {
            let (rt, w, diag) = problem(60, 45, rho, 1);
            let system = AdmmSystem::new(&rt, &w, diag.clone()).unwrap();
            let eig = dense_a(&rt, &w, &diag)
                .self_adjoint_eigen(faer::Side::Lower)
                .unwrap();
            let s = eig.S().column_vector();
            let (lo, hi) = (s[0], s[s.nrows() - 1]);
            let (lower, upper) = system.bounds();
            assert!(lower <= lo * (1.0 + 1e-6), "rho {rho}: {lower} > {lo}");
            assert!(upper >= hi * (1.0 - 1e-6), "rho {rho}: {upper} < {hi}");
            assert!(upper <= hi * 1.06, "rho {rho}: {upper} loose against {hi}");
        }
        assert_eq!(chebyshev_steps((1.0, 1.0), TOLERANCE), 1);
        assert!(chebyshev_steps((1.0, 1.4), TOLERANCE) <= 8);
        assert!(chebyshev_steps((1.0, 100.0), TOLERANCE) > 30);
    }

    #[test]
    fn solve_and_coupling_match_dense_float64() {
        let ctl = Control::default();
        let (rt, w, diag) = problem(70, 50, 200.0, 2);
        let mut system = AdmmSystem::new(&rt, &w, diag.clone()).unwrap();
        let a = dense_a(&rt, &w, &diag);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // 50 × 37: one full and one partial panel.
        let x = Dense::from_fn(50, 37, |_, _| rng.random_range(-1.0f32..1.0));
        let mut y = Dense::zeros(50, 37).unwrap();
        system.solve(&x, &mut y, &ctl).unwrap();
        let mut err = 0.0f64;
        for c in 0..37 {
            for i in 0..50 {
                let ay: f64 = (0..50).map(|k| a[(i, k)] * y.get(k, c) as f64).sum();
                err = err.max((ay - x.get(i, c) as f64).abs());
            }
        }
        assert!(err < 1e-5, "max |A y − x| = {err}");
        assert!(system.residual(&x, &y) < 1e-5);
        // Coupling: out + 2 (A − diag) x.
        let mut out = Dense::from_fn(50, 37, |i, j| (i + j) as f32);
        system.apply_coupling(&x, &mut out, 2.0, &ctl).unwrap();
        for c in 0..37 {
            for i in 0..50 {
                let ax: f64 = (0..50)
                    .map(|k| {
                        let off = a[(i, k)] - if i == k { diag[i] as f64 } else { 0.0 };
                        off * x.get(k, c) as f64
                    })
                    .sum();
                let expect = (i + c) as f64 + 2.0 * ax;
                assert!((out.get(i, c) as f64 - expect).abs() < 1e-3 * expect.abs().max(1.0));
            }
        }
    }
}
