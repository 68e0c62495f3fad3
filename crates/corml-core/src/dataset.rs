//! Interaction data: external ids mapped to dense indices, the binary user × item matrix,
//! degrees, and the seeded per-user train / valid / test split of SPEC.md.

use std::collections::HashMap;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::sparse::Csr;

/// A bijection between external ids (strings) and dense indices `0..len`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdMap {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl IdMap {
    /// An empty map.
    pub fn new() -> Self {
        IdMap::default()
    }

    /// Builds a map from distinct names, in order; fails on a duplicate.
    pub fn from_names(names: Vec<String>) -> Result<Self> {
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            if index.insert(n.clone(), i as u32).is_some() {
                return Err(Error::invalid(format!(
                    "id `{n}` appears twice in an id list"
                )));
            }
        }
        Ok(IdMap { names, index })
    }

    /// The index of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The index of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The name at index `i`.
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }

    /// All names, by index.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Binary user × item interactions with their id maps.
///
/// The maps are shared (`Arc`) so that the parts of a split live in one id space.
#[derive(Clone, Debug)]
pub struct Interactions {
    users: Arc<IdMap>,
    items: Arc<IdMap>,
    matrix: Csr,
}

impl Interactions {
    /// Builds interactions from parallel lists of user and item ids; duplicates collapse.
    pub fn from_ids<U: AsRef<str>, I: AsRef<str>>(users: &[U], items: &[I]) -> Result<Self> {
        if users.len() != items.len() {
            return Err(Error::invalid(format!(
                "user and item id lists differ in length ({} and {})",
                users.len(),
                items.len()
            )));
        }
        let mut umap = IdMap::new();
        let mut imap = IdMap::new();
        let mut pairs = Vec::with_capacity(users.len());
        for (u, i) in users.iter().zip(items) {
            let (u, i) = (u.as_ref(), i.as_ref());
            if u.is_empty() || i.is_empty() {
                return Err(Error::invalid(
                    "user and item ids must not be empty strings",
                ));
            }
            pairs.push((umap.intern(u), imap.intern(i)));
        }
        Interactions::from_index_pairs(Arc::new(umap), Arc::new(imap), &pairs)
    }

    /// Builds interactions over existing id maps from `(user, item)` index pairs.
    pub fn from_index_pairs(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        pairs: &[(u32, u32)],
    ) -> Result<Self> {
        let matrix = Csr::from_pairs(users.len(), items.len(), pairs)?;
        Ok(Interactions {
            users,
            items,
            matrix,
        })
    }

    /// Wraps a matrix whose shape matches the id maps.
    pub fn from_matrix(users: Arc<IdMap>, items: Arc<IdMap>, matrix: Csr) -> Result<Self> {
        if matrix.rows() != users.len() || matrix.cols() != items.len() {
            return Err(Error::invalid(
                "interaction matrix shape does not match its id maps",
            ));
        }
        Ok(Interactions {
            users,
            items,
            matrix,
        })
    }

    /// Fails with `EMPTY_DATA` when there is nothing to train on.
    pub fn ensure_not_empty(&self) -> Result<()> {
        if self.matrix.nnz() == 0 {
            return Err(Error::EmptyData(
                "the interaction data is empty: give at least one (user, item) pair".into(),
            ));
        }
        Ok(())
    }

    /// The user id map.
    pub fn users(&self) -> &Arc<IdMap> {
        &self.users
    }

    /// The item id map.
    pub fn items(&self) -> &Arc<IdMap> {
        &self.items
    }

    /// The binary user × item matrix.
    pub fn matrix(&self) -> &Csr {
        &self.matrix
    }

    /// Number of users in the id space.
    pub fn n_users(&self) -> usize {
        self.users.len()
    }

    /// Number of items in the id space.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of distinct interactions.
    pub fn nnz(&self) -> usize {
        self.matrix.nnz()
    }

    /// The interactions of the `n` most frequent items (ties by first appearance), with users
    /// left without any interaction dropped; ids are renumbered in their original order.
    pub fn top_items(&self, n: usize) -> Result<Interactions> {
        let counts = self.matrix.col_counts();
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let mut keep = vec![false; counts.len()];
        order.iter().take(n).for_each(|&i| keep[i] = true);
        let (mut users, mut items) = (IdMap::new(), IdMap::new());
        let mut item_new = vec![u32::MAX; counts.len()];
        for (i, k) in keep.iter().enumerate() {
            if *k {
                item_new[i] = items.intern(self.items.name(i as u32));
            }
        }
        let mut pairs = Vec::new();
        for u in 0..self.n_users() {
            let row: Vec<u32> = self
                .matrix
                .row_indices(u)
                .iter()
                .filter(|&&i| keep[i as usize])
                .map(|&i| item_new[i as usize])
                .collect();
            if !row.is_empty() {
                let nu = users.intern(self.users.name(u as u32));
                pairs.extend(row.into_iter().map(|i| (nu, i)));
            }
        }
        let out = Interactions::from_index_pairs(Arc::new(users), Arc::new(items), &pairs)?;
        out.ensure_not_empty()?;
        Ok(out)
    }

    /// Splits each user's interactions into train / valid / test (SPEC.md "Split").
    pub fn split(&self, ratios: [f64; 3], seed: u64) -> Result<Split> {
        validate_ratios(ratios)?;
        self.ensure_not_empty()?;
        let mut parts: [Vec<(u32, u32)>; 3] = Default::default();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut row = Vec::new();
        for u in 0..self.n_users() {
            row.clear();
            row.extend_from_slice(self.matrix.row_indices(u));
            rng.set_stream(u as u64);
            rng.set_word_pos(0);
            row.shuffle(&mut rng);
            let [train, valid, _test] = split_counts(row.len(), ratios);
            for (k, &item) in row.iter().enumerate() {
                let part = if k < train {
                    0
                } else if k < train + valid {
                    1
                } else {
                    2
                };
                parts[part].push((u as u32, item));
            }
        }
        let [train, valid, test] = parts;
        let make = |p: Vec<(u32, u32)>| {
            Interactions::from_index_pairs(self.users.clone(), self.items.clone(), &p)
        };
        Ok(Split {
            train: make(train)?,
            valid: make(valid)?,
            test: make(test)?,
        })
    }
}

/// Train / valid / test interactions sharing one id space.
#[derive(Clone, Debug)]
pub struct Split {
    /// Training interactions.
    pub train: Interactions,
    /// Validation interactions (excluded from test ranking).
    pub valid: Interactions,
    /// Test interactions.
    pub test: Interactions,
}

fn validate_ratios(ratios: [f64; 3]) -> Result<()> {
    let ok = ratios
        .iter()
        .all(|r| r.is_finite() && (0.0..=1.0).contains(r))
        && ratios[0] > 0.0
        && ((ratios.iter().sum::<f64>()) - 1.0).abs() < 1e-9;
    if !ok {
        return Err(Error::invalid(format!(
            "split ratios {ratios:?} must be finite, in [0, 1], with train > 0, and sum to 1"
        )));
    }
    Ok(())
}

/// How many of a user's `n` interactions go to train, valid and test (SPEC.md "Split").
///
/// `valid = ⌊r_v·n⌋`, `test = ⌊r_t·n⌋`; then, while train keeps more than one interaction, a part
/// whose exact share `r·n` lies strictly between 0 and 1 takes one from train, test first.
pub fn split_counts(n: usize, ratios: [f64; 3]) -> [usize; 3] {
    let share = |r: f64| r * n as f64;
    let mut valid = share(ratios[1]).floor() as usize;
    let mut test = share(ratios[2]).floor() as usize;
    let mut train = n - valid - test;
    for (count, r) in [(&mut test, ratios[2]), (&mut valid, ratios[1])] {
        let s = share(r);
        if train > 1 && s > 0.0 && s < 1.0 {
            *count += 1;
            train -= 1;
        }
    }
    [train, valid, test]
}

/// Item degrees `d_i = max(1, Σ_u R_ui)` as `f32`.
pub fn item_degrees(r: &Csr) -> Vec<f32> {
    r.col_counts()
        .into_iter()
        .map(|c| c.max(1) as f32)
        .collect()
}

/// `R̃ = diag(d_u^-1/2) · R · diag(d_i^-1/2)`, the symmetrically normalized interactions.
pub fn normalized(r: &Csr) -> Csr {
    let user_scale: Vec<f32> = user_degrees(r).iter().map(|x| x.powf(-0.5)).collect();
    let item_scale: Vec<f32> = item_degrees(r).iter().map(|x| x.powf(-0.5)).collect();
    r.scaled(Some(&user_scale), Some(&item_scale))
}

/// User degrees `d_u = max(1, Σ_i R_ui)` as `f32`.
pub fn user_degrees(r: &Csr) -> Vec<f32> {
    r.row_counts()
        .into_iter()
        .map(|c| c.max(1) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: [f64; 3] = [0.6, 0.2, 0.2];

    #[test]
    fn split_counts_follow_the_spec_for_small_n() {
        let expected = [
            [1, 0, 0],
            [1, 0, 1],
            [1, 1, 1],
            [2, 1, 1],
            [3, 1, 1],
            [4, 1, 1],
            [5, 1, 1],
            [6, 1, 1],
            [7, 1, 1],
            [6, 2, 2],
            [7, 2, 2],
            [8, 2, 2],
        ];
        for (k, e) in expected.iter().enumerate() {
            assert_eq!(split_counts(k + 1, R), *e, "n = {}", k + 1);
        }
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let users: Vec<String> = (0..50)
            .flat_map(|u| vec![format!("u{u}"); 1 + u % 13])
            .collect();
        let items: Vec<String> = (0..50)
            .flat_map(|u| (0..1 + u % 13).map(move |i| format!("i{}", (u * 7 + i) % 40)))
            .collect();
        let data = Interactions::from_ids(&users, &items).unwrap();
        let a = data.split(R, 7).unwrap();
        let b = data.split(R, 7).unwrap();
        let c = data.split(R, 8).unwrap();
        assert_eq!(a.test.matrix(), b.test.matrix());
        assert_ne!(a.test.matrix(), c.test.matrix());
        assert_eq!(a.train.nnz() + a.valid.nnz() + a.test.nnz(), data.nnz());
        for u in 0..data.n_users() {
            let n = data.matrix().row_indices(u).len();
            let counts = [&a.train, &a.valid, &a.test].map(|p| p.matrix().row_indices(u).len());
            assert_eq!(counts, split_counts(n, R));
            let mut all: Vec<u32> = [&a.train, &a.valid, &a.test]
                .iter()
                .flat_map(|p| p.matrix().row_indices(u).to_vec())
                .collect();
            all.sort_unstable();
            assert_eq!(all, data.matrix().row_indices(u));
        }
    }

    #[test]
    fn bad_ratios_and_empty_data_are_rejected() {
        let data = Interactions::from_ids(&["a"], &["x"]).unwrap();
        assert!(data.split([0.5, 0.2, 0.2], 1).is_err());
        assert!(data.split([f64::NAN, 0.2, 0.2], 1).is_err());
        let empty = Interactions::from_ids::<&str, &str>(&[], &[]).unwrap();
        assert_eq!(
            empty.split(R, 1).unwrap_err().code(),
            crate::ErrorCode::EmptyData
        );
        assert!(Interactions::from_ids(&["a", "b"], &["x"]).is_err());
    }
}
