//! Training benchmark at the Rust level: what `scripts/gpu-check.sh` runs on a GPU machine (which
//! has no Node.js), and the engine behind `npm run bench`.
//!
//! ```text
//! cargo bench -p corml-core --features cuda --bench training -- [--dataset ml20m|gowalla|FILE]...
//!     [--scale S] [--device auto|cpu|cuda|cuda:N] [--precision fp32|tf32]
//!     [--models corml,ease,gfcf] [--iters N] [--evaluate] [--data-dir DIR] [--json FILE]
//!     [--solver auto|dense|iterative | --literal] [--probe]
//! ```
//!
//! `--probe` prints what the CUDA probe found (driver, each library with its version and where it
//! was loaded from, devices), then opens cuda:0, compiles and loads the kernels and runs each
//! operation once against the CPU in fp32 and tf32 (`backend::self_test`), and exits: non-zero
//! when that fails.
//!
//! For each dataset and model it prints the seconds of every training stage and, for CoRML, the
//! ADMM loop's achieved rate next to a plain gemm of the largest part's size, in the same precision,
//! measured on the same backend in the same run. `ml20m` is the seeded ML-20M-shaped generator (13,680 items, ~10M
//! interactions, trained whole with the paper's ML-20M settings); `gowalla` reads
//! `DIR/gowalla/gowalla.inter.tsv.gz` and trains on the seeded 60/20/20 split with the paper's
//! Gowalla settings.

use std::fmt::Write as _;
use std::time::Instant;

use corml_core::backend::{measure_gemm, probe, self_test};
use corml_core::dataset::Interactions;
use corml_core::device::{Device, Precision};
use corml_core::io::{read_interactions, ReadOptions};
use corml_core::metrics::evaluate;
use corml_core::model::{
    corml, ease, gfcf, AdmmSolver, CormlParams, EaseParams, GfcfParams, Model,
};
use corml_core::progress::Control;
use corml_core::synthetic::{generate, SyntheticSpec};

type Error = Box<dyn std::error::Error>;

struct Args {
    datasets: Vec<String>,
    scale: f64,
    device: Device,
    precision: Precision,
    solver: AdmmSolver,
    models: Vec<String>,
    iters: Option<usize>,
    evaluate: bool,
    data_dir: String,
    json: Option<String>,
    probe: bool,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        datasets: Vec::new(),
        scale: 1.0,
        device: Device::Auto,
        precision: Precision::Fp32,
        solver: AdmmSolver::Auto,
        models: vec!["corml".into()],
        iters: None,
        evaluate: false,
        data_dir: "../shared/data".into(),
        json: None,
        probe: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--dataset" => args.datasets.push(value()?),
            "--scale" => args.scale = value()?.parse()?,
            "--device" => args.device = value()?.parse()?,
            "--precision" => args.precision = value()?.parse()?,
            "--solver" => args.solver = value()?.parse()?,
            // The algorithm as written: the dense solver.
            "--literal" => args.solver = AdmmSolver::Dense,
            "--models" => args.models = value()?.split(',').map(str::to_owned).collect(),
            "--iters" => args.iters = Some(value()?.parse()?),
            "--evaluate" => args.evaluate = true,
            "--data-dir" => args.data_dir = value()?,
            "--json" => args.json = Some(value()?),
            "--probe" => args.probe = true,
            // Passed by `cargo bench`.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if args.datasets.is_empty() {
        args.datasets.push("ml20m".into());
    }
    Ok(args)
}

/// The data to train on, what to evaluate against, and CoRML's settings for it.
struct Case {
    name: String,
    train: Interactions,
    held_out: Option<(Interactions, Interactions)>,
    params: CormlParams,
}

fn load(name: &str, args: &Args) -> Result<Case, Error> {
    let start = Instant::now();
    let case = match name {
        "ml20m" => {
            let spec = SyntheticSpec::ml20m().scaled(args.scale)?;
            Case {
                name: format!("ml20m-shaped (scale {})", args.scale),
                train: generate(&spec)?,
                held_out: None,
                params: CormlParams {
                    lambda: 0.8,
                    dual_step_length: 10.0,
                    l2_regularization: 0.1,
                    partition_ratio: Some(1.0),
                    ..Default::default()
                },
            }
        }
        _ => {
            let (path, params) = if name == "gowalla" {
                (
                    format!("{}/gowalla/gowalla.inter.tsv.gz", args.data_dir),
                    CormlParams {
                        lambda: 0.8,
                        dual_step_length: 5e3,
                        l2_regularization: 1.0,
                        partition_ratio: Some(0.35),
                        ..Default::default()
                    },
                )
            } else {
                (name.to_owned(), CormlParams::default())
            };
            let data = read_interactions(&path, &ReadOptions::default(), &Default::default())?;
            let split = data.split([0.6, 0.2, 0.2], 2026)?;
            Case {
                name: name.to_owned(),
                train: split.train,
                held_out: Some((split.valid, split.test)),
                params,
            }
        }
    };
    eprintln!(
        "{}: {} users, {} items, {} training interactions (loaded in {:.1} s)",
        case.name,
        case.train.n_users(),
        case.train.n_items(),
        case.train.nnz(),
        start.elapsed().as_secs_f64()
    );
    Ok(case)
}

fn fit(model: &str, case: &Case, args: &Args) -> Result<Model, Error> {
    let ctl = Control::default();
    Ok(match model {
        "corml" => {
            let params = CormlParams {
                device: args.device,
                precision: args.precision,
                admm_solver: args.solver,
                admm_iterations: args.iters.unwrap_or(case.params.admm_iterations),
                ..case.params.clone()
            };
            corml::fit(&case.train, &params, &ctl)?
        }
        "ease" => ease::fit(
            &case.train,
            &EaseParams {
                device: args.device,
                ..Default::default()
            },
            &ctl,
        )?,
        "gfcf" => gfcf::fit(&case.train, &GfcfParams::default(), &ctl)?,
        other => return Err(format!("unknown model {other}").into()),
    })
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let info = probe();
    println!(
        "machine: {} CPU threads; CUDA {}",
        rayon::current_num_threads(),
        if info.available {
            format!(
                "{} (driver CUDA {}.{})",
                info.devices
                    .iter()
                    .map(|d| format!("cuda:{} {}", d.ordinal, d.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                info.driver_version.map_or(0, |v| v.0),
                info.driver_version.map_or(0, |v| v.1)
            )
        } else {
            format!("unavailable: {}", info.reason.as_deref().unwrap_or("?"))
        }
    );
    if args.probe {
        println!("driver found: {}", info.driver_found);
        if let Some((major, minor)) = info.driver_version {
            println!("driver supports CUDA {major}.{minor}");
        }
        for lib in &info.libraries {
            println!(
                "library {:<9} {}{}{}",
                lib.name,
                if lib.found { "found" } else { "MISSING" },
                lib.version
                    .map_or(String::new(), |(a, b)| format!(" {a}.{b}")),
                lib.directory
                    .as_deref()
                    .map_or(String::new(), |d| format!(" (preloaded from {d})"))
            );
        }
        for d in &info.devices {
            println!(
                "device cuda:{} {} compute capability {}.{}, {:.1} GiB",
                d.ordinal,
                d.name,
                d.compute_capability.0,
                d.compute_capability.1,
                d.total_memory as f64 / (1u64 << 30) as f64
            );
        }
        if let Some(reason) = &info.reason {
            println!("usable: no: {reason}");
            return Ok(());
        }
        // The probe opens no context and loads no kernel: open cuda:0, build and load the
        // kernels, and run each operation once against the CPU.
        for precision in [Precision::Fp32, Precision::Tf32] {
            match self_test(Device::Cuda(0), precision) {
                Ok(lines) => lines
                    .iter()
                    .for_each(|l| println!("self-test ({precision}): {l}")),
                Err(e) => {
                    println!("usable: no: the self-test ({precision}) failed: {e}");
                    return Err(e.into());
                }
            }
        }
        println!("usable: yes, device 'auto' runs on cuda:0");
        return Ok(());
    }
    let mut records = Vec::new();
    for name in &args.datasets {
        let case = load(name, &args)?;
        for model_name in &args.models {
            let model = fit(model_name, &case, &args)?;
            let fi = model.info();
            let mut line = format!(
                "{} {model_name} on {}: {:.2} s total |",
                case.name, fi.backend, fi.seconds
            );
            for st in &fi.stages {
                write!(line, " {} {:.2} s", st.stage, st.seconds)?;
            }
            let mut rates = String::new();
            if fi.admm_flops > 0.0 {
                let admm_s = fi
                    .stages
                    .iter()
                    .find(|s| s.stage == "admm")
                    .map_or(f64::NAN, |s| s.seconds);
                let loop_rate = fi.admm_flops / admm_s;
                let largest = fi.part_sizes.iter().copied().max().unwrap_or(0);
                let gemm = measure_gemm(args.device, args.precision, largest)?;
                write!(
                    line,
                    " | ADMM loop {:.2} TFLOP/s, plain {} gemm n={largest} {:.2} TFLOP/s ({:.0}%)",
                    loop_rate / 1e12,
                    args.precision,
                    gemm / 1e12,
                    100.0 * loop_rate / gemm
                )?;
                rates = format!(
                    ",\"admm_tflops\":{:.4},\"sgemm_tflops\":{:.4},\"sgemm_n\":{largest}",
                    loop_rate / 1e12,
                    gemm / 1e12
                );
            }
            let mut metrics = String::new();
            if let (true, Some((valid, test))) = (args.evaluate, &case.held_out) {
                let ev = evaluate(
                    &model,
                    valid.matrix(),
                    test.matrix(),
                    &[10, 20],
                    &Control::default(),
                )?;
                for m in &ev.metrics {
                    write!(
                        line,
                        " | NDCG@{} {:.4} MRR@{} {:.4}",
                        m.k, m.ndcg, m.k, m.mrr
                    )?;
                    write!(
                        metrics,
                        ",\"ndcg@{}\":{:.5},\"mrr@{}\":{:.5}",
                        m.k, m.ndcg, m.k, m.mrr
                    )?;
                }
            }
            if !fi.admm_solvers.is_empty() {
                write!(line, " | solvers: {}", fi.admm_solvers.join("; "))?;
            }
            println!("{line}");
            let stages: Vec<String> = fi
                .stages
                .iter()
                .map(|s| format!("{}:{:.4}", json_string(&s.stage), s.seconds))
                .collect();
            records.push(format!(
                "{{\"dataset\":{},\"model\":{},\"backend\":{},\"items\":{},\"interactions\":{},\
                 \"seconds\":{:.4},\"stages\":{{{}}},\"parts\":{:?}{rates}{metrics}}}",
                json_string(&case.name),
                json_string(model_name),
                json_string(&fi.backend),
                case.train.n_items(),
                case.train.nnz(),
                fi.seconds,
                stages.join(","),
                fi.part_sizes,
            ));
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, format!("[{}]\n", records.join(",\n")))?;
    }
    Ok(())
}
