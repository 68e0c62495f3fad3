//! Model-level tests: ADMM invariants, EASE against an independent closed form, CoRML scoring
//! against its formula written out densely, semantic fixtures, and the coded failures. Each one
//! that a device can change runs on every device present (`common::devices`).

// Dense reference formulas read clearest with explicit indices.
#![allow(clippy::needless_range_loop)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use corml_core::dataset::{item_degrees, Interactions};
use corml_core::dense::Dense;
use corml_core::model::{
    corml, ease, gfcf, AdmmSolver, Algorithm, CormlParams, EaseParams, Filters, GfcfParams, Model,
};
use corml_core::progress::{Control, ProgressEvent};
use corml_core::{Device, ErrorCode};
use faer::linalg::solvers::DenseSolveCore;
use faer::Mat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::{devices, has_gpu};

/// A random interaction set with a planted block structure.
fn random_data(users: usize, items: usize, density: f64, seed: u64) -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut us, mut is) = (Vec::new(), Vec::new());
    for u in 0..users {
        for i in 0..items {
            let same_block = (u * 3 / users) == (i * 3 / items);
            let p = if same_block {
                density * 2.5
            } else {
                density * 0.25
            };
            if rng.random::<f64>() < p {
                us.push(format!("u{u}"));
                is.push(format!("i{i}"));
            }
        }
    }
    Interactions::from_ids(&us, &is).unwrap()
}

fn small_params() -> CormlParams {
    CormlParams {
        eigenvectors: 8,
        device: Device::Cpu,
        ..Default::default()
    }
}

/// [`small_params`] on `device`.
fn on(device: Device) -> CormlParams {
    CormlParams {
        device,
        ..small_params()
    }
}

#[test]
fn admm_iterates_keep_their_invariants() {
    let data = random_data(80, 50, 0.08, 1);
    for (device, rho) in devices()
        .into_iter()
        .flat_map(|d| [5e3f32, 10.0, 1.0].map(|rho| (d, rho)))
    {
        let params = CormlParams {
            dual_step_length: rho,
            lambda: 0.8,
            ..on(device)
        };
        let (h, s) = corml::admm_iterates(data.matrix(), &params).unwrap();
        let n = h.rows();
        let scale = s.frobenius() as f32 / n as f32;
        assert!(scale > 0.0, "S is all zero at rho {rho}");
        for i in 0..n {
            assert!(
                h.get(i, i).abs() <= 1e-6,
                "diag(H)[{i}] = {} at rho {rho} on {device}",
                h.get(i, i)
            );
            assert!(
                s.get(i, i).abs() <= 1e-6,
                "diag(S)[{i}] = {} at rho {rho} on {device}",
                s.get(i, i)
            );
            for j in 0..n {
                assert_eq!(
                    s.get(i, j),
                    s.get(j, i),
                    "S not symmetric at ({i}, {j}) on {device}"
                );
                assert!(s.get(i, j) >= 0.0, "S negative at ({i}, {j}) on {device}");
            }
        }
    }
}

#[test]
fn admm_converges_towards_a_feasible_point_when_rho_is_small() {
    // With a small penalty the iterates settle: H and its projection S nearly agree.
    let data = random_data(80, 40, 0.1, 2);
    for device in devices() {
        let params = CormlParams {
            dual_step_length: 1.0,
            admm_iterations: 400,
            lambda: 0.8,
            ..on(device)
        };
        let (h, s) = corml::admm_iterates(data.matrix(), &params).unwrap();
        let mut diff = 0.0f64;
        for j in 0..h.cols() {
            for i in 0..h.rows() {
                diff += ((h.get(i, j) - s.get(i, j)) as f64).powi(2);
            }
        }
        assert!(
            diff.sqrt() < 1e-3 * s.frobenius().max(1e-3),
            "primal residual {} on {device}",
            diff.sqrt()
        );
    }
}

#[test]
fn stored_h_is_upper_triangular_and_thresholded() {
    let data = random_data(90, 60, 0.08, 3);
    for device in devices() {
        let model = corml::fit(&data, &on(device), &Control::default()).unwrap();
        let Algorithm::Corml(m) = model.algorithm() else {
            panic!("not CoRML")
        };
        let h = m.h().unwrap();
        assert!(h.nnz() > 0, "{device}");
        for i in 0..h.rows() {
            for (&j, &x) in h.row_indices(i).iter().zip(h.row_values(i)) {
                assert!(j as usize >= i, "entry below the diagonal on {device}");
                // H is recovered from the scoring layout: equal to within rounding.
                assert!(x >= corml::KEEP_THRESHOLD * (1.0 - 1e-5), "{device}");
            }
        }
    }
}

/// CoRML's scoring formula, written out densely and independently of the model's scorer.
#[test]
fn corml_scores_follow_the_formula() {
    for device in devices() {
        corml_scores_follow_the_formula_on(device);
    }
}

fn corml_scores_follow_the_formula_on(device: Device) {
    let data = random_data(70, 45, 0.1, 4);
    let params = CormlParams {
        lambda: 0.7,
        item_degree_norm: 0.2,
        ..on(device)
    };
    let model = corml::fit(&data, &params, &Control::default()).unwrap();
    let Algorithm::Corml(m) = model.algorithm() else {
        panic!("not CoRML")
    };
    let (v, h) = (m.v().unwrap(), m.h().unwrap());
    let n = data.n_items();
    let d = item_degrees(data.matrix());
    let mut hd = vec![vec![0f64; n]; n];
    for i in 0..n {
        for (&j, &x) in h.row_indices(i).iter().zip(h.row_values(i)) {
            hd[i][j as usize] += x as f64;
            hd[j as usize][i] += x as f64;
        }
    }
    let users: Vec<u32> = (0..data.n_users() as u32).collect();
    let rows = corml_core::sparse::Csr::from_pairs(
        users.len(),
        n,
        &users
            .iter()
            .flat_map(|&u| {
                data.matrix()
                    .row_indices(u as usize)
                    .iter()
                    .map(move |&i| (u, i))
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let scores = model.score(&rows).unwrap();
    let (t, lam) = (0.2f64, 0.7f64);
    for u in 0..users.len() {
        let r: Vec<f64> = (0..n)
            .map(|i| {
                if rows.row_indices(u).contains(&(i as u32)) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let proj: Vec<f64> = (0..v.cols())
            .map(|c| {
                (0..n)
                    .map(|i| r[i] * (d[i] as f64).powf(-0.5) * v.get(i, c) as f64)
                    .sum()
            })
            .collect();
        for j in 0..n {
            let low: f64 = (0..v.cols()).map(|c| proj[c] * v.get(j, c) as f64).sum();
            let sumsq: f64 = (0..v.cols()).map(|c| (v.get(j, c) as f64).powi(2)).sum();
            let y_g = (1.0 / lam - 1.0) * (low * (d[j] as f64).sqrt() - r[j] * sumsq).max(0.0);
            let y_h: f64 = (0..n)
                .map(|i| r[i] * (d[i] as f64).powf(-t) * hd[i][j])
                .sum::<f64>()
                * (d[j] as f64).powf(t);
            let got = scores[u * n + j] as f64;
            assert!(
                (got - (y_g + y_h)).abs() <= 1e-4 * (1.0 + (y_g + y_h).abs()),
                "user {u} item {j}: {got} vs {} on {device}",
                y_g + y_h
            );
        }
    }
}

#[test]
fn ease_matches_an_independent_closed_form() {
    for device in devices() {
        ease_matches_an_independent_closed_form_on(device);
    }
}

fn ease_matches_an_independent_closed_form_on(device: Device) {
    let data = random_data(40, 12, 0.2, 5);
    let reg = 3.0;
    let model = ease::fit(
        &data,
        &EaseParams {
            regularization: reg,
            device,
            ..Default::default()
        },
        &Control::default(),
    )
    .unwrap();
    let Algorithm::Ease(m) = model.algorithm() else {
        panic!("not EASE")
    };
    let n = data.n_items();
    let r = data.matrix();
    // P = (RᵀR + reg I)⁻¹ in f64 through an LU inverse (not the Cholesky path under test).
    let g = Mat::<f64>::from_fn(n, n, |i, j| {
        let co = (0..r.rows())
            .filter(|&u| {
                r.row_indices(u).contains(&(i as u32)) && r.row_indices(u).contains(&(j as u32))
            })
            .count() as f64;
        co + if i == j { reg as f64 } else { 0.0 }
    });
    let p = g.partial_piv_lu().inverse();
    for i in 0..n {
        for j in 0..n {
            let expect = if i == j { 0.0 } else { -p[(i, j)] / p[(j, j)] };
            assert!(
                (m.weight(i, j) as f64 - expect).abs() < 1e-5,
                "B[{i},{j}] = {} vs {expect} on {device}",
                m.weight(i, j)
            );
        }
    }
}

/// Users of block b interact with most items of block b; the one item each user lacks in
/// their own block must come first.
fn checkerboard() -> (Interactions, Vec<(String, String)>) {
    let (mut us, mut is, mut held) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..4 {
        for u in 0..12 {
            let user = format!("b{b}u{u}");
            let missing = u % 6;
            for i in 0..6 {
                if i == missing {
                    held.push((user.clone(), format!("b{b}i{i}")));
                } else {
                    us.push(user.clone());
                    is.push(format!("b{b}i{i}"));
                }
            }
        }
    }
    (Interactions::from_ids(&us, &is).unwrap(), held)
}

fn assert_withheld_first(model: &Model, held: &[(String, String)], device: Device) {
    let filters = Filters {
        filter_seen: true,
        ..Default::default()
    };
    for (user, item) in held {
        let u = model.user_index(user).unwrap();
        let top = model.recommend_users(&[u], 1, &filters).unwrap();
        assert_eq!(
            model.items().name(top[0][0].item),
            item,
            "{} for {user} on {device}",
            model.algorithm().name()
        );
    }
}

#[test]
fn every_model_ranks_the_withheld_block_item_first() {
    let (data, held) = checkerboard();
    let ctl = Control::default();
    for device in devices() {
        let params = CormlParams {
            eigenvectors: 4,
            lambda: 0.8,
            ..on(device)
        };
        let corml = corml::fit(&data, &params, &ctl).unwrap();
        assert_withheld_first(&corml, &held, device);
        let ease_params = EaseParams {
            regularization: 1.0,
            device,
            ..Default::default()
        };
        assert_withheld_first(
            &ease::fit(&data, &ease_params, &ctl).unwrap(),
            &held,
            device,
        );
    }
    // GF-CF runs on the CPU whatever the device.
    let gfcf_params = GfcfParams {
        eigenvectors: 4,
        ..Default::default()
    };
    let gfcf = gfcf::fit(&data, &gfcf_params, &ctl).unwrap();
    assert_withheld_first(&gfcf, &held, Device::Cpu);
}

#[test]
fn recommendations_never_contain_seen_or_excluded_items() {
    for device in devices() {
        recommendations_never_contain_seen_or_excluded_items_on(device);
    }
}

fn recommendations_never_contain_seen_or_excluded_items_on(device: Device) {
    let data = random_data(60, 30, 0.15, 6);
    let model = corml::fit(&data, &on(device), &Control::default()).unwrap();
    let users: Vec<u32> = (0..data.n_users() as u32).collect();
    let filters = Filters {
        filter_seen: true,
        exclude: vec![0, 1],
        include: None,
    };
    let recs = model.recommend_users(&users, 30, &filters).unwrap();
    for (u, list) in recs.iter().enumerate() {
        let seen = data.matrix().row_indices(u);
        assert_eq!(list.len(), 30 - seen.iter().filter(|&&i| i > 1).count() - 2);
        for s in list {
            assert!(!seen.contains(&s.item) && s.item > 1);
        }
        assert!(list.windows(2).all(|w| w[0].score >= w[1].score));
    }
    let only = Filters {
        filter_seen: false,
        exclude: vec![],
        include: Some(vec![3, 4]),
    };
    let recs = model.recommend_users(&users[..5], 10, &only).unwrap();
    assert!(recs
        .iter()
        .all(|l| l.len() == 2 && l.iter().all(|s| s.item == 3 || s.item == 4)));
    let history = model
        .recommend_history(
            &[2, 5],
            5,
            &Filters {
                filter_seen: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(history.iter().all(|s| s.item != 2 && s.item != 5));
}

#[test]
fn coded_failures() {
    let data = random_data(50, 40, 0.1, 7);
    let ctl = Control::default();
    let bad = |p: CormlParams| corml::fit(&data, &p, &ctl).err().map(|e| e.code());
    assert_eq!(
        bad(CormlParams {
            lambda: f32::NAN,
            ..small_params()
        }),
        Some(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        bad(CormlParams {
            partition_ratio: Some(0.0),
            ..small_params()
        }),
        Some(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        bad(CormlParams {
            partition_ratio: Some(1.5),
            ..small_params()
        }),
        Some(ErrorCode::InvalidArgument)
    );
    assert_eq!(
        bad(CormlParams {
            dual_step_length: -1.0,
            ..small_params()
        }),
        Some(ErrorCode::InvalidArgument)
    );
    if !has_gpu() {
        assert_eq!(
            bad(CormlParams {
                device: Device::Cuda(0),
                ..small_params()
            }),
            Some(ErrorCode::CudaUnavailable)
        );
    }
    assert!(corml::fit(
        &data,
        &CormlParams {
            device: Device::Auto,
            ..small_params()
        },
        &ctl
    )
    .is_ok());

    let err = corml::fit(
        &data,
        &CormlParams {
            memory_budget: Some(10_000),
            ..small_params()
        },
        &ctl,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::OutOfMemory);
    assert!(err.to_string().contains("partitionRatio"), "{err}");

    let cancelled = Control::default();
    cancelled.cancel_flag().store(true, Ordering::Relaxed);
    assert_eq!(
        corml::fit(&data, &small_params(), &cancelled)
            .unwrap_err()
            .code(),
        ErrorCode::Aborted
    );

    let empty = Interactions::from_ids::<&str, &str>(&[], &[]).unwrap();
    assert_eq!(
        corml::fit(&empty, &small_params(), &ctl)
            .unwrap_err()
            .code(),
        ErrorCode::EmptyData
    );
    let model = corml::fit(&data, &small_params(), &ctl).unwrap();
    assert_eq!(
        model.user_index("nobody").unwrap_err().code(),
        ErrorCode::UnknownUser
    );
    assert_eq!(
        model.item_index("nothing").unwrap_err().code(),
        ErrorCode::UnknownItem
    );
}

#[test]
fn progress_reaches_every_admm_iteration_and_cancel_stops_within_one() {
    let data = random_data(60, 40, 0.1, 8);
    let events = Arc::new(std::sync::Mutex::new(Vec::<ProgressEvent>::new()));
    let sink = events.clone();
    let ctl = Control::new(
        Some(Arc::new(move |e: &ProgressEvent| {
            sink.lock().unwrap().push(e.clone())
        })),
        Default::default(),
    );
    let params = CormlParams {
        admm_iterations: 7,
        ..small_params()
    };
    corml::fit(&data, &params, &ctl).unwrap();
    let events = events.lock().unwrap();
    let admm: Vec<usize> = events
        .iter()
        .filter(|e| e.stage == "admm")
        .map(|e| e.iteration)
        .collect();
    assert_eq!(admm, (1..=7).collect::<Vec<_>>());
    assert!(events.windows(2).all(|w| w[0].fraction <= w[1].fraction));
    assert_eq!(events.last().map(|e| e.fraction), Some(1.0));

    // Cancelling from the progress callback at iteration 3 stops before iteration 4.
    let seen = Arc::new(std::sync::Mutex::new(0usize));
    let (seen2, flag) = (
        seen.clone(),
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let flag2 = flag.clone();
    let ctl = Control::new(
        Some(Arc::new(move |e: &ProgressEvent| {
            if e.stage == "admm" {
                *seen2.lock().unwrap() = e.iteration;
                if e.iteration == 3 {
                    flag2.store(true, Ordering::Relaxed);
                }
            }
        })),
        flag,
    );
    assert_eq!(
        corml::fit(&data, &params, &ctl).unwrap_err().code(),
        ErrorCode::Aborted
    );
    assert_eq!(*seen.lock().unwrap(), 3);
}

#[test]
fn iterative_and_dense_admm_solvers_give_the_same_iterates() {
    // ρ = 5e3 as on Gowalla: A is nearly ρI, and the Chebyshev solve matches the dense product.
    // Every other device's (dense) iterates must match the CPU's too.
    let data = random_data(120, 70, 0.1, 7);
    let base = CormlParams {
        dual_step_length: 5e3,
        lambda: 0.8,
        admm_iterations: 12,
        ..small_params()
    };
    let iterates = |device, admm_solver| {
        corml::admm_iterates(
            data.matrix(),
            &CormlParams {
                device,
                admm_solver,
                ..base.clone()
            },
        )
        .unwrap()
    };
    let (h_dense, s_dense) = iterates(Device::Cpu, AdmmSolver::Dense);
    let rel = |a: &Dense, b: &Dense| {
        let diff: f64 = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum();
        diff.sqrt() / b.frobenius()
    };
    let mut others = vec![(
        "cpu iterative",
        iterates(Device::Cpu, AdmmSolver::Iterative),
    )];
    for device in devices().into_iter().filter(|&d| d != Device::Cpu) {
        others.push(("another device", iterates(device, AdmmSolver::Auto)));
    }
    for (what, (h, s)) in &others {
        assert!(rel(h, &h_dense) < 1e-4, "{what}: H {}", rel(h, &h_dense));
        assert!(rel(s, &s_dense) < 1e-4, "{what}: S {}", rel(s, &s_dense));
    }
}

#[test]
fn auto_solver_follows_the_cost_model() {
    // ρ = 1: A is ill-conditioned and the iterative solve would need many steps; the dense
    // solver wins. `admmSolver: 'iterative'` forces the other.
    let data = random_data(120, 70, 0.1, 8);
    let fit = |solver, rho| {
        let params = CormlParams {
            dual_step_length: rho,
            admm_solver: solver,
            admm_iterations: 3,
            ..small_params()
        };
        corml::fit(&data, &params, &Control::default()).unwrap()
    };
    assert_eq!(fit(AdmmSolver::Auto, 1.0).info().admm_solvers, ["dense"]);
    assert_eq!(fit(AdmmSolver::Dense, 5e3).info().admm_solvers, ["dense"]);
    let forced = fit(AdmmSolver::Iterative, 1.0);
    assert!(forced.info().admm_solvers[0].starts_with("chebyshev"));
    // A GPU always takes the dense product, whatever the cost model would say on the CPU.
    for device in devices().into_iter().filter(|&d| d != Device::Cpu) {
        let params = CormlParams {
            dual_step_length: 5e3,
            admm_iterations: 3,
            ..on(device)
        };
        let model = corml::fit(&data, &params, &Control::default()).unwrap();
        assert_eq!(model.info().admm_solvers, ["dense"], "{device}");
    }
}

#[test]
fn auto_partition_ratio_takes_the_largest_part_that_fits_half_the_budget() {
    use corml::{auto_partition_ratio, part_memory, AUTO_MEMORY_SHARE, MIN_AUTO_PART};
    let gib = 1u64 << 30;
    // Everything fits: one part.
    assert_eq!(auto_partition_ratio(2_000, 256, 16 * gib, None), Some(1.0));
    // The CPU's limit binds before memory does: parts of at most the limit.
    let ratio = auto_partition_ratio(40_981, 256, 64 * gib, Some(15_000)).unwrap();
    assert!((ratio * 40_981.0).floor() as usize == 15_000, "{ratio}");
    // Memory binds: a multiple of 1,024 items that fits half the budget, and the next does not.
    let budget = 2 * gib;
    let ratio = auto_partition_ratio(40_981, 256, budget, None).unwrap();
    let n = (ratio * 40_981.0).floor() as usize;
    assert_eq!(n % 1024, 0, "{n}");
    let share = budget as f64 * AUTO_MEMORY_SHARE;
    assert!(part_memory(n, 256) as f64 <= share);
    assert!(part_memory(n + 1024, 256) as f64 > share);
    // A few megabytes more free memory leave the choice as it was.
    assert_eq!(
        auto_partition_ratio(40_981, 256, budget + (8 << 20), None),
        Some(ratio)
    );
    // Too small for even the smallest part.
    let tiny = part_memory(MIN_AUTO_PART - 1, 256) * 2;
    assert_eq!(auto_partition_ratio(40_981, 256, tiny, None), None);
}

#[test]
fn partition_ratio_auto_trains_within_a_budget_that_one_part_would_exceed() {
    let data = random_data(300, 600, 0.05, 11);
    let ctl = Control::default();
    // One part of 600 items needs 5 × 600² × 4 B = 7.2 MB; half of this budget holds about 300.
    let budget = 2 * corml::part_memory(300, 8);
    let one_part = corml::fit(
        &data,
        &CormlParams {
            partition_ratio: Some(1.0),
            memory_budget: Some(budget),
            ..small_params()
        },
        &ctl,
    );
    assert_eq!(
        one_part.err().map(|e| e.code()),
        Some(ErrorCode::OutOfMemory)
    );
    let model = corml::fit(
        &data,
        &CormlParams {
            memory_budget: Some(budget),
            ..small_params()
        },
        &ctl,
    )
    .unwrap();
    let sizes = &model.info().part_sizes;
    assert!(
        sizes.len() >= 2 && sizes.iter().all(|&n| n <= 300),
        "{sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), 600);
    // The model records the ratio it used, not 'auto'.
    let Algorithm::Corml(corml) = model.algorithm() else {
        panic!("not a CoRML model")
    };
    let ratio = corml.params().partition_ratio.unwrap();
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
}

#[test]
fn a_prepared_spectral_factor_is_shared_by_fits_that_differ_elsewhere() {
    let data = random_data(120, 200, 0.08, 21);
    let ctl = Control::default();
    let params = CormlParams {
        partition_ratio: Some(0.5),
        ..small_params()
    };
    let scores = |m: &Model| m.score(data.matrix()).unwrap();
    let spectral = corml::prepare(&data, &params, &ctl).unwrap();
    assert!(spectral.parts().len() >= 2);
    assert_eq!(spectral.partition_ratio(), 0.5);
    // The same model as a fit from scratch, bit for bit, for each point that shares it.
    for lambda in [0.6, 0.9] {
        let point = CormlParams {
            lambda,
            user_scaling: 0.3,
            ..params.clone()
        };
        let shared = corml::fit_prepared(&data, &point, &spectral, &ctl).unwrap();
        let alone = corml::fit(&data, &point, &ctl).unwrap();
        assert_eq!(scores(&shared), scores(&alone), "lambda {lambda}");
        assert_eq!(shared.info().part_sizes, alone.info().part_sizes);
        assert_eq!(shared.info().stages[0].stage, "svd");
    }
    // Another rank, seed, ratio or data needs another.
    for other in [
        CormlParams {
            eigenvectors: 6,
            ..params.clone()
        },
        CormlParams {
            seed: 1,
            ..params.clone()
        },
        CormlParams {
            partition_ratio: Some(1.0),
            ..params.clone()
        },
    ] {
        let err = corml::fit_prepared(&data, &other, &spectral, &ctl).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    }
    let elsewhere = random_data(120, 200, 0.08, 22);
    let err = corml::fit_prepared(&elsewhere, &params, &spectral, &ctl).unwrap_err();
    assert!(err.to_string().contains("other training data"), "{err}");
}
