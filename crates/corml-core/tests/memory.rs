//! The memory model against a measurement: the dense matrices a part's solve keeps alive at once,
//! counted by a backend that wraps the CPU's, never exceed what `check_memory` budgets for
//! (`part_memory`: `MATRICES_PER_PART` dense `n × n` matrices and two `n × k` ones).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use corml_core::admm::AdmmSystem;
use corml_core::backend::cpu::CpuBackend;
use corml_core::backend::{Backend, Op};
use corml_core::dataset::Interactions;
use corml_core::dense::Dense;
use corml_core::model::corml::{self, part_memory, MATRICES_PER_PART};
use corml_core::model::{AdmmSolver, CormlParams};
use corml_core::progress::Control;
use corml_core::{Device, Result};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bytes of dense matrices alive now, and the most alive at once.
#[derive(Default)]
struct Tracker {
    live: AtomicU64,
    peak: AtomicU64,
}

impl Tracker {
    fn add(&self, bytes: u64) {
        let now = self.live.fetch_add(bytes, Ordering::SeqCst) + bytes;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }
}

/// A CPU matrix that counts itself in its tracker while it lives.
struct Counted {
    inner: Dense,
    bytes: u64,
    tracker: Arc<Tracker>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.tracker.live.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// The CPU backend, counting every matrix that lives on it.
struct Counting {
    cpu: CpuBackend,
    tracker: Arc<Tracker>,
}

impl Counting {
    fn wrap(&self, m: Dense) -> Counted {
        let bytes = (m.rows() * m.cols() * 4) as u64;
        self.tracker.add(bytes);
        Counted {
            inner: m,
            bytes,
            tracker: self.tracker.clone(),
        }
    }
}

impl Backend for Counting {
    type Matrix = Counted;

    fn describe(&self) -> String {
        format!("counting {}", self.cpu.describe())
    }

    fn memory_budget(&self) -> Result<u64> {
        self.cpu.memory_budget()
    }

    fn upload(&self, m: Dense) -> Result<Counted> {
        Ok(self.wrap(self.cpu.upload(m)?))
    }

    fn download(&self, m: Counted) -> Result<Dense> {
        Ok(m.inner.clone())
    }

    fn zeros(&self, rows: usize, cols: usize) -> Result<Counted> {
        Ok(self.wrap(self.cpu.zeros(rows, cols)?))
    }

    fn gemm(
        &self,
        c: &mut Counted,
        beta: f32,
        a: &Counted,
        op_a: Op,
        b: &Counted,
        op_b: Op,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        self.cpu.gemm(
            &mut c.inner,
            beta,
            &a.inner,
            op_a,
            &b.inner,
            op_b,
            alpha,
            ctl,
        )
    }

    fn iterative_solves(&self) -> bool {
        self.cpu.iterative_solves()
    }

    fn solve_system(
        &self,
        system: &mut AdmmSystem,
        x: &Counted,
        out: &mut Counted,
        ctl: &Control,
    ) -> Result<()> {
        self.cpu.solve_system(system, &x.inner, &mut out.inner, ctl)
    }

    fn apply_coupling(
        &self,
        system: &AdmmSystem,
        x: &Counted,
        out: &mut Counted,
        alpha: f32,
        ctl: &Control,
    ) -> Result<()> {
        self.cpu
            .apply_coupling(system, &x.inner, &mut out.inner, alpha, ctl)
    }

    fn spd_inverse(&self, a: Counted, ctl: &Control) -> Result<Counted> {
        let inner = a.inner.clone();
        drop(a);
        Ok(self.wrap(self.cpu.spd_inverse(inner, ctl)?))
    }

    fn scale_add_diagonal(&self, m: &mut Counted, alpha: f32, d: &[f32]) -> Result<()> {
        self.cpu.scale_add_diagonal(&mut m.inner, alpha, d)
    }

    fn hollow_clamp_scale(&self, m: &mut Counted, left: &[f32], right: &[f32]) -> Result<()> {
        self.cpu.hollow_clamp_scale(&mut m.inner, left, right)
    }

    fn admm_step(
        &self,
        h: &mut Counted,
        b: &Counted,
        ainv: &Counted,
        gamma: &mut Counted,
        s: &mut Counted,
        rho: f32,
        next_rhs: bool,
    ) -> Result<()> {
        self.cpu.admm_step(
            &mut h.inner,
            &b.inner,
            &ainv.inner,
            &mut gamma.inner,
            &mut s.inner,
            rho,
            next_rhs,
        )
    }
}

fn data(users: usize, items: usize, seed: u64) -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut us, mut is) = (Vec::new(), Vec::new());
    for u in 0..users {
        for i in 0..items {
            if rng.random::<f64>() < 0.06 {
                us.push(format!("u{u}"));
                is.push(format!("i{i}"));
            }
        }
    }
    Interactions::from_ids(&us, &is).unwrap()
}

#[test]
fn a_part_never_holds_more_dense_memory_than_the_memory_check_budgets() {
    let train = data(400, 240, 1);
    let n = train.n_items();
    let k = 8;
    for solver in [AdmmSolver::Dense, AdmmSolver::Iterative] {
        let backend = Counting {
            cpu: CpuBackend::new(),
            tracker: Arc::default(),
        };
        let params = CormlParams {
            eigenvectors: k,
            admm_iterations: 4,
            admm_solver: solver,
            device: Device::Cpu,
            ..Default::default()
        };
        let model = corml::fit_on(&backend, &train, &params, &Control::default()).unwrap();
        assert_eq!(model.info().part_sizes, [n]);
        let peak = backend.tracker.peak.load(Ordering::SeqCst);
        let square = (n * n * 4) as u64;
        assert!(
            peak <= part_memory(n, k),
            "{solver}: {peak} bytes alive at once, the memory check budgets {} \
             ({MATRICES_PER_PART} × {square} + the n × k factors)",
            part_memory(n, k)
        );
        // The measurement sees the ADMM loop's matrices: all of the budget's square ones.
        assert!(
            peak >= MATRICES_PER_PART * square,
            "{solver}: only {peak} bytes counted"
        );
        assert_eq!(backend.tracker.live.load(Ordering::SeqCst), 0, "{solver}");
    }
}
