//! Serving: explanations add up to the scores, item scores and similar items agree with
//! recommendation, for every algorithm.

mod common;

use corml_core::dataset::Interactions;
use corml_core::model::{CormlParams, EaseParams, Filters, Model, Request, Who};
use corml_core::{Device, ErrorCode};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data() -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (mut us, mut is) = (Vec::new(), Vec::new());
    for u in 0..70 {
        for i in 0..45 {
            if rng.random::<f64>() < if (u / 10) == (i / 7) { 0.5 } else { 0.04 } {
                us.push(format!("u{u}"));
                is.push(format!("i{i}"));
            }
        }
    }
    Interactions::from_ids(&us, &is).unwrap()
}

fn models() -> Vec<Model> {
    let corml_params = |lambda: f32| CormlParams {
        lambda,
        eigenvectors: 6,
        item_degree_norm: 0.2,
        device: Device::Cpu,
        ..Default::default()
    };
    let ease = EaseParams {
        regularization: 5.0,
        device: Device::Cpu,
        ..Default::default()
    };
    common::fit_all(&data(), &[corml_params(0.7), corml_params(1.0)], &ease)
}

#[test]
fn explanations_add_up_to_the_scores() {
    let mut clamped = 0;
    for model in models() {
        let name = model.algorithm().name();
        for user in (0..model.users().len() as u32).step_by(7) {
            let scores = model.score_items(Who::User(user), &[]).unwrap();
            assert!(scores.is_empty());
            for item in 0..model.items().len() as u32 {
                let e = model.explain(Who::User(user), item).unwrap();
                let history = model.train_matrix().row_indices(user as usize);
                assert_eq!(e.contributions.len(), history.len());
                let tol = 1e-4 * (1.0 + e.score.abs());
                assert!(
                    (e.metric + e.graph - e.score).abs() < tol,
                    "{name} user {user} item {item}: {} + {} vs {}",
                    e.metric,
                    e.graph,
                    e.score
                );
                let direct = model.score_items(Who::User(user), &[item]).unwrap()[0];
                assert_eq!(direct.to_bits(), e.score.to_bits());
                let totals: Vec<f32> = e.contributions.iter().map(|c| c.metric + c.graph).collect();
                assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{name}: sorted");
                match name {
                    "ease" => assert!(e.contributions.iter().all(|c| c.graph == 0.0)),
                    "gfcf" => assert!(e.contributions.iter().all(|c| c.metric == 0.0)),
                    _ => {
                        if e.graph == 0.0 {
                            clamped += 1;
                        }
                    }
                }
            }
        }
    }
    // λ = 1 has no graph part at all; with λ = 0.7 some items meet the clamp `max(0, ·)`.
    assert!(clamped > 0);
}

#[test]
fn new_histories_are_explained_and_scored_like_users() {
    for model in models() {
        let user = 3u32;
        let history: Vec<u32> = model.train_matrix().row_indices(user as usize).to_vec();
        let items: Vec<u32> = (0..model.items().len() as u32).collect();
        let a = model.score_items(Who::User(user), &items).unwrap();
        let b = model.score_items(Who::History(&history), &items).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            model.explain(Who::User(user), 5).unwrap(),
            model.explain(Who::History(&history), 5).unwrap()
        );
    }
}

#[test]
fn similar_items_are_the_one_item_history_without_the_item() {
    for model in models() {
        let filters = Filters::default();
        for item in 0..model.items().len() as u32 {
            let similar = model.similar_items(item, 5, &filters).unwrap();
            assert!(similar.iter().all(|s| s.item != item));
            let history = model
                .recommend_history(
                    &[item],
                    5,
                    &Filters {
                        filter_seen: true,
                        ..Default::default()
                    },
                )
                .unwrap();
            assert_eq!(similar, history);
        }
        let only = Filters {
            include: Some(vec![1, 2]),
            ..Default::default()
        };
        let similar = model.similar_items(0, 5, &only).unwrap();
        assert!(similar.iter().all(|s| s.item == 1 || s.item == 2));
    }
}

#[test]
fn histories_scored_together_get_what_each_gets_alone() {
    for model in models() {
        let name = model.algorithm().name();
        let n = model.items().len() as u32;
        // Histories of every length, an empty one, duplicates, and more than one batch's worth.
        let histories: Vec<Vec<u32>> = (0..300u32)
            .map(|h| match h % 5 {
                0 => Vec::new(),
                1 => vec![h % n, h % n],
                _ => (0..h % 11).map(|j| (h * 7 + j * 13) % n).collect(),
            })
            .collect();
        for filters in [
            Filters::default(),
            Filters {
                filter_seen: true,
                exclude: vec![0, 3],
                include: None,
            },
        ] {
            let together = model.recommend_histories(&histories, 7, &filters).unwrap();
            assert_eq!(together.len(), histories.len());
            for (h, got) in histories.iter().zip(&together) {
                let alone = model.recommend_history(h, 7, &filters).unwrap();
                // One product for the batch, one for the history alone: equal to rounding.
                assert_eq!(got.len(), alone.len(), "{name} {h:?}");
                for (a, b) in got.iter().zip(&alone) {
                    assert!(
                        (a.score - b.score).abs() <= 1e-5 * (1.0 + b.score.abs()),
                        "{name} {h:?}"
                    );
                }
            }
        }
        // Users and histories mixed in one call get what each gets alone.
        let users: Vec<u32> = (0..model.users().len() as u32).collect();
        let requests: Vec<Request<'_>> = users
            .iter()
            .zip(&histories)
            .flat_map(|(&u, h)| [Request::User(u), Request::History(h)])
            .collect();
        let mixed = model
            .recommend_requests(&requests, 5, &Filters::default())
            .unwrap();
        for (request, got) in requests.iter().zip(&mixed) {
            let alone = match *request {
                Request::User(u) => model
                    .recommend_users(&[u], 5, &Filters::default())
                    .unwrap()
                    .remove(0),
                Request::History(h) => model.recommend_history(h, 5, &Filters::default()).unwrap(),
            };
            assert_eq!(got.len(), alone.len(), "{name} {request:?}");
            for (a, b) in got.iter().zip(&alone) {
                assert!(
                    (a.score - b.score).abs() <= 1e-5 * (1.0 + b.score.abs()),
                    "{name}"
                );
            }
        }
        let bad_user = model.recommend_requests(&[Request::User(u32::MAX)], 3, &Filters::default());
        assert_eq!(bad_user.unwrap_err().code(), ErrorCode::InvalidArgument);
        let bad = model.recommend_histories(&[vec![0], vec![n]], 3, &Filters::default());
        assert_eq!(bad.unwrap_err().code(), ErrorCode::InvalidArgument);
    }
}

#[test]
fn out_of_range_indices_are_errors_not_panics() {
    let model = models().remove(2);
    let (n_users, n_items) = (model.users().len() as u32, model.items().len() as u32);
    assert_eq!(
        code(model.explain(Who::User(n_users), 0)),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(model.explain(Who::User(0), n_items)),
        ErrorCode::InvalidArgument
    );
    let history = [n_items];
    let scored = model.score_items(Who::History(&history), &[0]);
    assert_eq!(code(scored), ErrorCode::InvalidArgument);
    let similar = model.similar_items(n_items, 3, &Filters::default());
    assert_eq!(code(similar), ErrorCode::InvalidArgument);
}

fn code<T: std::fmt::Debug>(result: corml_core::Result<T>) -> ErrorCode {
    result.expect_err("must fail").code()
}
