//! linalg-choice: measure faer 0.24 against nalgebra-lapack 0.28 (system OpenBLAS)
//! for the two dense f32 kernels corml-core needs:
//!
//! * sgemm  C = A·B            (flops: 2n³)
//! * SPD inverse of A = XᵀX/n + I  (flops: n³ by convention = potrf n³/3 + potri 2n³/3)
//!
//! Usage: linalg-choice [--n N] [--reps R] [--threads 1,2] [--ops sgemm,inv] [--skip-matrixmultiply]
//!
//! Every timing is the median over R repetitions after 1 warm-up run.
//! Thread counts: faer via `Par::Seq` / `Par::rayon(t)` (global rayon pool has
//! `rayon::current_num_threads()` workers), OpenBLAS via `openblas_set_num_threads(t)`.
//! nalgebra's own `*` (matrixmultiply backend) is single-threaded.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::time::Instant;

use faer::linalg::solvers::DenseSolveCore;
use faer::{Accum, Mat, Par, Side};
use nalgebra::DMatrix;

// Make sure the system OpenBLAS (libopenblas.so) is linked.
extern crate openblas_src;

extern "C" {
    fn openblas_set_num_threads(n: c_int);
    fn openblas_get_num_threads() -> c_int;
    fn openblas_get_corename() -> *const c_char;
    fn openblas_get_config() -> *const c_char;
}

fn openblas_corename() -> String {
    // SAFETY: OpenBLAS returns a pointer to a static NUL-terminated string.
    unsafe { CStr::from_ptr(openblas_get_corename()) }.to_string_lossy().into_owned()
}

fn openblas_config() -> String {
    // SAFETY: as above.
    unsafe { CStr::from_ptr(openblas_get_config()) }.to_string_lossy().into_owned()
}

fn set_openblas_threads(t: usize) {
    // SAFETY: plain setter in OpenBLAS.
    unsafe { openblas_set_num_threads(t as c_int) }
}

fn openblas_threads() -> usize {
    // SAFETY: plain getter in OpenBLAS.
    unsafe { openblas_get_num_threads() as usize }
}

/// SplitMix64, uniform in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn random_colmajor(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..n * n).map(|_| rng.next_f32()).collect()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// 1 warm-up + `reps` timed runs of `f`; returns (median, min, max) seconds.
fn time<F: FnMut()>(reps: usize, mut f: F) -> (f64, f64, f64) {
    f();
    let mut ts = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        f();
        ts.push(t0.elapsed().as_secs_f64());
    }
    let min = ts.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = ts.iter().cloned().fold(0.0, f64::max);
    (median(ts), min, max)
}

struct Row {
    op: &'static str,
    imp: String,
    threads: usize,
    med: f64,
    min: f64,
    max: f64,
    gflops: f64,
    check: String,
    load_before: String,
}

fn print_row(r: &Row) {
    println!(
        "| {:<5} | {:<44} | {:>7} | {:>8.4} | {:>8.4} | {:>8.4} | {:>8.1} | {:<22} | {:<14} |",
        r.op, r.imp, r.threads, r.med, r.min, r.max, r.gflops, r.check, r.load_before
    );
}

/// Max relative error of `c` (column-major n×n) against an f64 dot product on a
/// fixed sample of 2000 entries: max |c_ij − ref_ij| / max(1, |ref_ij|).
fn sgemm_sample_error(n: usize, a: &[f32], b: &[f32], c: &dyn Fn(usize, usize) -> f32) -> f64 {
    let mut rng = Rng(42);
    let mut worst = 0.0f64;
    for _ in 0..2000 {
        let i = ((rng.next_f32() + 1.0) * 0.5 * n as f32) as usize % n;
        let j = ((rng.next_f32() + 1.0) * 0.5 * n as f32) as usize % n;
        let mut acc = 0.0f64;
        for k in 0..n {
            acc += a[i + k * n] as f64 * b[k + j * n] as f64;
        }
        let err = (c(i, j) as f64 - acc).abs() / acc.abs().max(1.0);
        worst = worst.max(err);
    }
    worst
}

/// ‖A·Ainv − I‖_max, computed with faer (f32, all threads).
fn inverse_residual(a: &Mat<f32>, ainv: &Mat<f32>) -> f64 {
    let n = a.nrows();
    let mut p = Mat::<f32>::zeros(n, n);
    faer::linalg::matmul::matmul(p.as_mut(), Accum::Replace, a.as_ref(), ainv.as_ref(), 1.0, Par::rayon(0));
    let mut worst = 0.0f64;
    for j in 0..n {
        for i in 0..n {
            let e = if i == j { 1.0 } else { 0.0 };
            worst = worst.max((p[(i, j)] - e).abs() as f64);
        }
    }
    worst
}

fn faer_par(t: usize) -> Par {
    if t == 1 {
        Par::Seq
    } else {
        Par::rayon(t)
    }
}

fn main() {
    let mut n = 4000usize;
    let mut reps = 5usize;
    let mut threads: Vec<usize> = vec![1, rayon::current_num_threads()];
    let mut ops: Vec<String> = vec!["sgemm".into(), "inv".into()];
    let mut skip_mm = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--n" => {
                n = args[i + 1].parse().expect("--n");
                i += 1;
            }
            "--reps" => {
                reps = args[i + 1].parse().expect("--reps");
                i += 1;
            }
            "--threads" => {
                threads = args[i + 1].split(',').map(|s| s.parse().expect("--threads")).collect();
                i += 1;
            }
            "--ops" => {
                ops = args[i + 1].split(',').map(String::from).collect();
                i += 1;
            }
            "--skip-matrixmultiply" => skip_mm = true,
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    threads.dedup();

    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "<unset>".into());
    println!("# linalg-choice  n={n}  reps={reps} (median of {reps} after 1 warm-up)");
    println!(
        "# env: OPENBLAS_CORETYPE={}  OPENBLAS_L2_SIZE={}  OPENBLAS_NUM_THREADS={}  RAYON_NUM_THREADS={}",
        env("OPENBLAS_CORETYPE"),
        env("OPENBLAS_L2_SIZE"),
        env("OPENBLAS_NUM_THREADS"),
        env("RAYON_NUM_THREADS")
    );
    println!("# openblas: corename={}  config={}  default threads={}", openblas_corename(), openblas_config(), openblas_threads());
    println!("# rayon::current_num_threads()={}  std available_parallelism={}", rayon::current_num_threads(), std::thread::available_parallelism().map(|x| x.get()).unwrap_or(0));
    println!("# loadavg at start: {}", loadavg());
    println!("# flop conventions: sgemm 2n^3; SPD inverse n^3 (potrf n^3/3 + potri 2n^3/3)");
    println!("| op    | implementation                               | threads | median s |    min s |    max s |  GFLOP/s | check                  | load before    |");
    println!("|-------|----------------------------------------------|---------|----------|----------|----------|----------|------------------------|----------------|");

    let nf = n as f64;

    if ops.iter().any(|o| o == "sgemm") {
        let a = random_colmajor(n, 1);
        let b = random_colmajor(n, 2);
        let fa = Mat::<f32>::from_fn(n, n, |i, j| a[i + j * n]);
        let fb = Mat::<f32>::from_fn(n, n, |i, j| b[i + j * n]);
        let na = DMatrix::<f32>::from_column_slice(n, n, &a);
        let nb = DMatrix::<f32>::from_column_slice(n, n, &b);
        let flops = 2.0 * nf * nf * nf;

        for &t in &threads {
            // faer
            let load = loadavg();
            let mut fc = Mat::<f32>::zeros(n, n);
            let (med, min, max) = time(reps, || {
                faer::linalg::matmul::matmul(fc.as_mut(), Accum::Replace, fa.as_ref(), fb.as_ref(), 1.0, faer_par(t));
            });
            let err = sgemm_sample_error(n, &a, &b, &|i, j| fc[(i, j)]);
            print_row(&Row { op: "sgemm", imp: "faer 0.24 matmul".into(), threads: t, med, min, max, gflops: flops / med / 1e9, check: format!("relerr {err:.1e}"), load_before: load });

            // OpenBLAS sgemm (through the `blas` crate, as nalgebra-lapack links it)
            set_openblas_threads(t);
            let load = loadavg();
            let mut nc = DMatrix::<f32>::zeros(n, n);
            let ni = n as i32;
            let (med, min, max) = time(reps, || {
                // SAFETY: all three buffers are n×n column-major with leading dimension n.
                unsafe { blas::sgemm(b'N', b'N', ni, ni, ni, 1.0, na.as_slice(), ni, nb.as_slice(), ni, 0.0, nc.as_mut_slice(), ni) };
            });
            let err = sgemm_sample_error(n, &a, &b, &|i, j| nc[(i, j)]);
            print_row(&Row { op: "sgemm", imp: format!("OpenBLAS sgemm [{}]", openblas_corename()), threads: openblas_threads(), med, min, max, gflops: flops / med / 1e9, check: format!("relerr {err:.1e}"), load_before: load });
        }

        if !skip_mm {
            // nalgebra's own product (matrixmultiply backend, single-threaded)
            let load = loadavg();
            let mut nc = DMatrix::<f32>::zeros(n, n);
            let (med, min, max) = time(reps, || {
                na.mul_to(&nb, &mut nc);
            });
            let err = sgemm_sample_error(n, &a, &b, &|i, j| nc[(i, j)]);
            print_row(&Row { op: "sgemm", imp: "nalgebra 0.35 * (matrixmultiply)".into(), threads: 1, med, min, max, gflops: flops / med / 1e9, check: format!("relerr {err:.1e}"), load_before: load });
        }
    }

    if ops.iter().any(|o| o == "inv") {
        // A = XᵀX/n + I: SPD with eigenvalues in about [1, 2.4].
        let x = random_colmajor(n, 3);
        let fx = Mat::<f32>::from_fn(n, n, |i, j| x[i + j * n]);
        let mut fa = Mat::<f32>::identity(n, n);
        faer::linalg::matmul::matmul(fa.as_mut(), Accum::Add, fx.transpose(), fx.as_ref(), 1.0 / n as f32, Par::rayon(0));
        // exact symmetry
        for j in 0..n {
            for i in 0..j {
                fa[(i, j)] = fa[(j, i)];
            }
        }
        drop(fx);
        let na = DMatrix::<f32>::from_fn(n, n, |i, j| fa[(i, j)]);
        let flops = nf * nf * nf;

        for &t in &threads {
            // faer: high-level Llt + inverse (global parallelism controls threads)
            faer::set_global_parallelism(faer_par(t));
            let load = loadavg();
            let mut out = Mat::<f32>::zeros(0, 0);
            let (med, min, max) = time(reps, || {
                out = fa.llt(Side::Lower).expect("faer llt").inverse();
            });
            let res = inverse_residual(&fa, &out);
            print_row(&Row { op: "inv", imp: "faer 0.24 llt().inverse()".into(), threads: t, med, min, max, gflops: flops / med / 1e9, check: format!("resid {res:.1e}"), load_before: load });

            // nalgebra-lapack: Cholesky::new (spotrf) + inverse (spotri + fill upper)
            set_openblas_threads(t);
            let load = loadavg();
            let mut nout = DMatrix::<f32>::zeros(0, 0);
            let (med, min, max) = time(reps, || {
                nout = nalgebra_lapack::Cholesky::new(na.clone()).expect("spotrf").inverse().expect("spotri");
            });
            let fout = Mat::<f32>::from_fn(n, n, |i, j| nout[(i, j)]);
            let res = inverse_residual(&fa, &fout);
            print_row(&Row { op: "inv", imp: format!("nalgebra-lapack Cholesky+inverse [{}]", openblas_corename()), threads: openblas_threads(), med, min, max, gflops: flops / med / 1e9, check: format!("resid {res:.1e}"), load_before: load });
            drop(fout);

            // raw LAPACK spotrf + spotri (lower triangle only), no copy-out
            let load = loadavg();
            let mut buf = na.clone();
            let ni = n as i32;
            let (med, min, max) = time(reps, || {
                buf.copy_from(&na);
                let mut info = 0;
                // SAFETY: buf is n×n column-major, lda = n.
                unsafe { lapack::spotrf(b'L', ni, buf.as_mut_slice(), ni, &mut info) };
                assert_eq!(info, 0, "spotrf");
                // SAFETY: as above.
                unsafe { lapack::spotri(b'L', ni, buf.as_mut_slice(), ni, &mut info) };
                assert_eq!(info, 0, "spotri");
            });
            let fout = Mat::<f32>::from_fn(n, n, |i, j| if i >= j { buf[(i, j)] } else { buf[(j, i)] });
            let res = inverse_residual(&fa, &fout);
            print_row(&Row { op: "inv", imp: format!("raw spotrf+spotri [{}]", openblas_corename()), threads: openblas_threads(), med, min, max, gflops: flops / med / 1e9, check: format!("resid {res:.1e}"), load_before: load });
        }
        faer::set_global_parallelism(Par::rayon(0));
    }
    println!("# loadavg at end: {}", loadavg());
}
