//! Trains a model on an interaction file and prints Table-2-style test metrics.
//!
//! ```text
//! cargo run --release -p corml-core --example evaluate_file -- FILE [--model corml|ease|gfcf]
//!     [--top-items N] [--seed S] [--lambda X] [--rho X] [--theta X] [--t X] [--eps-log X]
//!     [--tu X] [--k N] [--iters N] [--partition-ratio X] [--solver auto|dense|iterative] [--reg X]
//! ```

use corml_core::io::{read_interactions, ReadOptions};
use corml_core::metrics::evaluate;
use corml_core::model::{corml, ease, gfcf, CormlParams, EaseParams, GfcfParams};
use corml_core::progress::{Control, ProgressEvent};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: evaluate_file FILE [options]")?;
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let num = |name: &str, default: f64| opt(name).map_or(Ok(default), |v| v.parse::<f64>());
    let model_name = opt("--model").map_or("corml", String::as_str);
    let seed = num("--seed", 2026.0)? as u64;

    let mut data = read_interactions(path, &ReadOptions::default(), &Default::default())?;
    if let Some(n) = opt("--top-items") {
        data = data.top_items(n.parse()?)?;
    }
    eprintln!(
        "{} users, {} items, {} interactions",
        data.n_users(),
        data.n_items(),
        data.nnz()
    );
    let split = data.split([0.6, 0.2, 0.2], seed)?;
    let progress: corml_core::progress::ProgressFn = Arc::new(|e: &ProgressEvent| {
        if e.stage == "admm" && e.iteration % 10 == 1 {
            eprintln!(
                "  {} part {}/{} iteration {}/{} ({:.0}%)",
                e.stage,
                e.part,
                e.parts,
                e.iteration,
                e.iterations,
                100.0 * e.fraction
            );
        }
    });
    let ctl = Control::new(Some(progress), Default::default());
    let model = match model_name {
        "corml" => {
            let p = CormlParams {
                lambda: num("--lambda", 0.8)? as f32,
                dual_step_length: num("--rho", 5e3)? as f32,
                l2_regularization: num("--theta", 1.0)? as f32,
                item_degree_norm: num("--t", 0.1)? as f32,
                global_scaling: num("--eps-log", 0.0)? as f32,
                user_scaling: num("--tu", 0.0)? as f32,
                eigenvectors: num("--k", 256.0)? as usize,
                admm_iterations: num("--iters", 50.0)? as usize,
                partition_ratio: num("--partition-ratio", 1.0)?,
                admm_solver: opt("--solver").map_or("auto", String::as_str).parse()?,
                seed,
                ..Default::default()
            };
            corml::fit(&split.train, &p, &ctl)?
        }
        "ease" => ease::fit(
            &split.train,
            &EaseParams {
                regularization: num("--reg", 250.0)? as f32,
                ..Default::default()
            },
            &ctl,
        )?,
        "gfcf" => gfcf::fit(
            &split.train,
            &GfcfParams {
                seed,
                ..Default::default()
            },
            &ctl,
        )?,
        other => return Err(format!("unknown model {other}").into()),
    };
    let info = model.info();
    eprintln!(
        "trained {model_name} in {:.1} s on {} (parts {:?}, nnz {})",
        info.seconds, info.backend, info.part_sizes, info.nnz
    );
    for s in &info.stages {
        eprintln!("  {:<10} {:>8.2} s", s.stage, s.seconds);
    }
    for (part, solver) in info.admm_solvers.iter().enumerate() {
        eprintln!("  part {} ADMM solver: {solver}", part + 1);
    }
    let eval = evaluate(
        &model,
        split.valid.matrix(),
        split.test.matrix(),
        &[5, 10, 20],
        &Control::default(),
    )?;
    println!(
        "model={model_name} users={} eval_s={:.1} train_s={:.1}",
        eval.users, eval.seconds, info.seconds
    );
    for m in &eval.metrics {
        println!(
            "@{:<3} ndcg {:.4}  mrr {:.4}  recall {:.4}  novelty {:.4}",
            m.k, m.ndcg, m.mrr, m.recall, m.novelty
        );
    }
    Ok(())
}
