//! Interaction data: external ids mapped to dense indices, the binary user × item matrix,
//! degrees, and the seeded per-user train / valid / test split of the paper's protocol (`docs/algorithm.md`, "Evaluation").

use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
pub use crate::ids::IdMap;
use crate::sparse::Csr;

/// Binary user × item interactions with their id maps.
///
/// The maps are shared (`Arc`) so that the parts of a split live in one id space. Data read with
/// a timestamp column also knows the order in which the interactions happened (for
/// [`Interactions::split_leave_last_out`]).
#[derive(Clone, Debug)]
pub struct Interactions {
    users: Arc<IdMap>,
    items: Arc<IdMap>,
    matrix: Csr,
    /// For each stored interaction (aligned with the matrix's indices), its rank in time order
    /// (distinct ranks; after a filter, not necessarily contiguous).
    sequence: Option<Vec<u32>>,
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
            sequence: None,
        })
    }

    /// Builds interactions from `(user, item)` index pairs with the time of each (`times[k]` is
    /// the time of `pairs[k]`, in any unit). A pair seen more than once keeps its earliest time;
    /// equal times are ordered by their position in `pairs`.
    pub fn from_timed_pairs(
        users: Arc<IdMap>,
        items: Arc<IdMap>,
        pairs: &[(u32, u32)],
        times: &[f64],
    ) -> Result<Self> {
        if pairs.len() != times.len() {
            return Err(Error::invalid(format!(
                "{} pairs but {} times",
                pairs.len(),
                times.len()
            )));
        }
        if let Some(t) = times.iter().find(|t| !t.is_finite()) {
            return Err(Error::invalid(format!("time {t} is not a finite number")));
        }
        let matrix = Csr::from_pairs(users.len(), items.len(), pairs)?;
        let nnz = matrix.nnz();
        if u32::try_from(nnz).is_err() {
            return Err(Error::invalid(format!(
                "{nnz} interactions with times are more than this library orders (2^32 - 1)"
            )));
        }
        // The position in `pairs` of each stored interaction's earliest occurrence.
        let mut first = vec![usize::MAX; nnz];
        for (k, &(u, i)) in pairs.iter().enumerate() {
            let row = matrix.row_indices(u as usize);
            let slot = matrix.indptr()[u as usize]
                + row
                    .binary_search(&i)
                    .map_err(|_| Error::invalid("a pair is missing from its own matrix"))?;
            let current = first[slot];
            if current == usize::MAX || times[k] < times[current] {
                first[slot] = k;
            }
        }
        let mut by_time: Vec<u32> = (0..nnz as u32).collect();
        by_time.sort_unstable_by(|&a, &b| {
            let (a, b) = (first[a as usize], first[b as usize]);
            times[a].total_cmp(&times[b]).then(a.cmp(&b))
        });
        let mut sequence = vec![0u32; nnz];
        for (rank, &slot) in by_time.iter().enumerate() {
            sequence[slot as usize] = rank as u32;
        }
        Ok(Interactions {
            users,
            items,
            matrix,
            sequence: Some(sequence),
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
            sequence: None,
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

    /// Whether the interactions know their time order (read with a timestamp column).
    pub fn has_times(&self) -> bool {
        self.sequence.is_some()
    }

    /// The interactions of the users and items marked `true`, in a new id space that holds only
    /// those with at least one interaction left (ids keep their order). Time order is kept.
    fn select(&self, keep_user: &[bool], keep_item: &[bool]) -> Result<Interactions> {
        let (mut users, mut items) = (IdMap::new(), IdMap::new());
        let mut item_new = vec![u32::MAX; self.n_items()];
        let mut item_used = vec![false; self.n_items()];
        for u in (0..self.n_users()).filter(|&u| keep_user[u]) {
            for &i in self.matrix.row_indices(u) {
                item_used[i as usize] |= keep_item[i as usize];
            }
        }
        for (i, used) in item_used.iter().enumerate() {
            if *used {
                item_new[i] = items.intern(self.items.name(i as u32));
            }
        }
        let mut pairs = Vec::new();
        let mut ranks = Vec::new();
        for u in (0..self.n_users()).filter(|&u| keep_user[u]) {
            let start = self.matrix.indptr()[u];
            let row = self.matrix.row_indices(u);
            if !row.iter().any(|&i| keep_item[i as usize]) {
                continue;
            }
            let nu = users.intern(self.users.name(u as u32));
            for (k, &i) in row.iter().enumerate() {
                if keep_item[i as usize] {
                    pairs.push((nu, item_new[i as usize]));
                    if let Some(seq) = &self.sequence {
                        ranks.push(seq[start + k]);
                    }
                }
            }
        }
        let mut out = Interactions::from_index_pairs(Arc::new(users), Arc::new(items), &pairs)?;
        // Users and items keep their order and each row its items, so the pairs are already in
        // the matrix's order: the old time ranks carry over as they are.
        debug_assert_eq!(out.nnz(), pairs.len());
        out.sequence = self.sequence.as_ref().map(|_| ranks);
        out.ensure_not_empty()?;
        Ok(out)
    }

    /// The interactions of the `n` most frequent items (ties by first appearance), with users
    /// left without any interaction dropped; ids are renumbered in their original order.
    pub fn top_items(&self, n: usize) -> Result<Interactions> {
        let counts = self.matrix.col_counts();
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let mut keep = vec![false; counts.len()];
        order.iter().take(n).for_each(|&i| keep[i] = true);
        self.select(&vec![true; self.n_users()], &keep)
    }

    /// Drops users with fewer than `min_user` interactions and items with fewer than `min_item`,
    /// repeating until every remaining user and item meets its minimum (a k-core, as RecBole's
    /// `user_inter_num_interval` / `item_inter_num_interval` filters). Users and items left
    /// without interactions are dropped too; the result has its own id space.
    pub fn filter_min(&self, min_user: usize, min_item: usize) -> Result<Interactions> {
        let (min_user, min_item) = (min_user.max(1), min_item.max(1));
        let mut keep_user = vec![true; self.n_users()];
        let mut keep_item = vec![true; self.n_items()];
        loop {
            let mut user_count = vec![0usize; self.n_users()];
            let mut item_count = vec![0usize; self.n_items()];
            for u in (0..self.n_users()).filter(|&u| keep_user[u]) {
                for &i in self.matrix.row_indices(u) {
                    if keep_item[i as usize] {
                        user_count[u] += 1;
                        item_count[i as usize] += 1;
                    }
                }
            }
            let mut changed = false;
            for (keep, count, min) in [
                (&mut keep_user, &user_count, min_user),
                (&mut keep_item, &item_count, min_item),
            ] {
                for (k, &c) in keep.iter_mut().zip(count) {
                    if *k && c < min {
                        *k = false;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        if !keep_user.iter().any(|&k| k) {
            return Err(Error::EmptyData(format!(
                "no interactions are left after keeping users with at least {min_user} and items \
                 with at least {min_item} interactions: lower the minimums"
            )));
        }
        self.select(&keep_user, &keep_item)
    }

    /// Leave-last-out split by time (RecBole's `LS: valid_and_test` on time-ordered data): each
    /// user's latest interaction goes to test and the one before it to valid, the rest to train.
    /// A user with two interactions keeps one for train and one for test; a user with one keeps it
    /// for train. Needs data read with a timestamp column.
    pub fn split_leave_last_out(&self) -> Result<Split> {
        self.ensure_not_empty()?;
        let Some(sequence) = &self.sequence else {
            return Err(Error::invalid(
                "a leave-last-out split needs the time of each interaction: read the data with a \
                 timestamp column",
            ));
        };
        let mut parts: [Vec<(u32, u32)>; 3] = Default::default();
        let mut row: Vec<(u32, u32)> = Vec::new();
        for u in 0..self.n_users() {
            let start = self.matrix.indptr()[u];
            row.clear();
            row.extend(
                self.matrix
                    .row_indices(u)
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| (sequence[start + k], i)),
            );
            row.sort_unstable();
            let n = row.len();
            let held = 2.min(n.saturating_sub(1));
            for (k, &(_, item)) in row.iter().enumerate() {
                let part = if k + held < n {
                    0
                } else if k + 1 == n {
                    2
                } else {
                    1
                };
                parts[part].push((u as u32, item));
            }
        }
        self.split_parts(parts)
    }

    /// Splits each user's interactions into train / valid / test (`docs/algorithm.md`, "Evaluation").
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
        self.split_parts(parts)
    }

    /// Train / valid / test interactions in this id space from their index pairs.
    fn split_parts(&self, parts: [Vec<(u32, u32)>; 3]) -> Result<Split> {
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

/// How many of a user's `n` interactions go to train, valid and test (`docs/algorithm.md`, "Evaluation").
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
    fn min_interaction_filters_repeat_until_stable() {
        // d has 1 interaction → dropped; then item z keeps only c → dropped; then c has one item
        // left → dropped; a, b and x, y remain.
        let users = ["a", "a", "b", "b", "c", "c", "d"];
        let items = ["x", "y", "x", "y", "x", "z", "z"];
        let data = Interactions::from_ids(&users, &items).unwrap();
        let f = data.filter_min(2, 2).unwrap();
        assert_eq!(f.users().to_vec(), ["a", "b"]);
        assert_eq!(f.items().to_vec(), ["x", "y"]);
        assert_eq!(f.nnz(), 4);
        for u in 0..f.n_users() {
            assert!(f.matrix().row_indices(u).len() >= 2);
        }
        assert!(f.matrix().col_counts().iter().all(|&c| c >= 2));
        // Minimums of 0 or 1 keep everything.
        assert_eq!(data.filter_min(0, 1).unwrap().nnz(), data.nnz());
        let err = data.filter_min(50, 1).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::EmptyData);
        assert!(err.to_string().contains("lower the minimums"), "{err}");
    }

    #[test]
    fn filters_keep_the_time_order() {
        let users = Arc::new(IdMap::from_names(["a", "b"]).unwrap());
        let items = Arc::new(IdMap::from_names((0..4).map(|i| format!("i{i}"))).unwrap());
        // a: i3 (t=1), i0 (t=2), i2 (t=3), i1 (t=4); b: i0 (t=0).
        let pairs = [(0, 3), (0, 0), (0, 2), (0, 1), (1, 0)];
        let times = [1.0, 2.0, 3.0, 4.0, 0.0];
        let data = Interactions::from_timed_pairs(users, items, &pairs, &times).unwrap();
        let kept = data.filter_min(2, 1).unwrap();
        assert!(kept.has_times());
        let split = kept.split_leave_last_out().unwrap();
        let name = |p: &Interactions| p.items().name(p.matrix().row_indices(0)[0]).to_owned();
        assert_eq!(name(&split.test), "i1");
        assert_eq!(name(&split.valid), "i2");
        assert_eq!(split.train.nnz(), 2);
        assert!(data.top_items(2).unwrap().has_times());
        assert!(Interactions::from_timed_pairs(
            data.users().clone(),
            data.items().clone(),
            &pairs,
            &[0.0, 1.0, f64::NAN, 2.0, 3.0]
        )
        .is_err());
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
