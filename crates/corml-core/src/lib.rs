//! # corml-core
//!
//! CoRML (Collaborative Residual Metric Learning, SIGIR 2023) and its baselines EASE and GF-CF,
//! as pure Rust with no Node.js dependency. Dense work runs on a [`backend::Backend`] chosen by
//! [`Device`]; the models never know which.
//!
//! ```
//! use corml_core::{dataset::Interactions, model::{corml, CormlParams}, progress::Control};
//!
//! let users = ["a", "a", "b", "b", "c", "c", "c"];
//! let items = ["x", "y", "x", "z", "y", "z", "w"];
//! let data = Interactions::from_ids(&users, &items).unwrap();
//! let params = CormlParams { eigenvectors: 2, ..Default::default() };
//! let model = corml::fit(&data, &params, &Control::default()).unwrap();
//! let user = model.user_index("a").unwrap();
//! let filters = corml_core::model::Filters { filter_seen: true, ..Default::default() };
//! let top = model.recommend_users(&[user], 2, &filters).unwrap();
//! assert!(top[0].iter().all(|s| model.items().name(s.item) != "x"));
//! ```

pub mod admm;
pub mod backend;
pub mod dataset;
pub mod dense;
pub mod device;
pub mod error;
pub mod files;
pub mod ids;
pub mod io;
pub mod metrics;
pub mod model;
pub mod partition;
pub mod progress;
pub mod sparse;
pub mod storage;
pub mod svd;
pub mod synthetic;
pub mod threads;

pub use device::{Device, Precision};
pub use error::{Error, ErrorCode, Result};

/// The version of this crate (and of the model files it writes).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
