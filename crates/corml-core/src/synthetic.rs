//! Seeded synthetic interaction data shaped like MovieLens, for benchmarks at sizes whose real
//! data cannot be shipped (ML-20M).
//!
//! User degrees are log-normal above a floor (MovieLens keeps users with at least 20 ratings),
//! item popularity is Zipf-like, and users lean towards one of a few communities of items so that
//! the spectral parts of the models see structure. The same spec and seed give the same data on
//! every machine and thread count.

use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::weighted::WeightedAliasIndex;
use rand_distr::{Distribution, LogNormal};
use rayon::prelude::*;

use crate::dataset::{IdMap, Interactions};
use crate::error::{Error, Result};

/// The shape of a synthetic dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// Target number of distinct interactions (met to within a fraction of a per cent).
    pub interactions: usize,
    /// Fewest interactions of a user.
    pub min_user_degree: usize,
    /// σ of the log-normal user degrees (MovieLens: about 1.1).
    pub user_degree_sigma: f64,
    /// Item popularity ∝ `1 / (rank + offset)^exponent`.
    pub item_exponent: f64,
    /// The `offset` of the popularity law (keeps the top item below the number of users).
    pub item_offset: f64,
    /// Item communities; each user draws half of its items from its own.
    pub communities: usize,
    /// Seed of everything random.
    pub seed: u64,
}

impl SyntheticSpec {
    /// ML-20M as the CoRML paper's Table 1 gives it: 136,674 users, 13,680 items,
    /// 9,977,451 interactions.
    pub fn ml20m() -> Self {
        SyntheticSpec {
            users: 136_674,
            items: 13_680,
            interactions: 9_977_451,
            min_user_degree: 20,
            user_degree_sigma: 1.1,
            item_exponent: 1.0,
            item_offset: 30.0,
            communities: 20,
            seed: 20,
        }
    }

    /// The same shape at `scale`: users and items multiplied by `scale`, interactions by `scale²`
    /// (the density is kept, so user degrees and their floor shrink with the item count).
    pub fn scaled(&self, scale: f64) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0 && scale <= 1.0) {
            return Err(Error::invalid(format!(
                "scale = {scale} is out of range: it must be in (0, 1]"
            )));
        }
        let s = |x: usize| ((x as f64 * scale).round() as usize).max(1);
        Ok(SyntheticSpec {
            users: s(self.users),
            items: s(self.items).max(2 * self.min_user_degree),
            interactions: ((self.interactions as f64) * scale * scale).round() as usize,
            min_user_degree: s(self.min_user_degree),
            ..self.clone()
        })
    }
}

/// The user degrees: `max(floor, round(c · x_u))` with log-normal `x_u`, `c` chosen by bisection
/// so that they sum to the target, each capped at half the items.
fn user_degrees(spec: &SyntheticSpec, rng: &mut ChaCha8Rng) -> Result<Vec<usize>> {
    let law = LogNormal::new(0.0, spec.user_degree_sigma)
        .map_err(|e| Error::invalid(format!("user_degree_sigma: {e}")))?;
    let raw: Vec<f64> = (0..spec.users).map(|_| law.sample(rng)).collect();
    let cap = (spec.items / 2).max(1);
    let floor = spec.min_user_degree.min(cap);
    let degrees = |c: f64| -> Vec<usize> {
        raw.iter()
            .map(|x| ((c * x).round() as usize).clamp(floor, cap))
            .collect()
    };
    let total = |c: f64| degrees(c).iter().sum::<usize>();
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while total(hi) < spec.interactions && hi < 1e9 {
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if total(mid) < spec.interactions {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(degrees(hi))
}

/// Generates the dataset. Users are named `u0`, `u1`, ..., items `i0`, `i1`, ... (by popularity
/// rank, so `i0` is the most popular).
pub fn generate(spec: &SyntheticSpec) -> Result<Interactions> {
    if spec.users == 0 || spec.items == 0 || spec.communities == 0 {
        return Err(Error::invalid(
            "a synthetic dataset needs users, items and communities",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let degrees = user_degrees(spec, &mut rng)?;
    let popularity: Vec<f64> = (0..spec.items)
        .map(|r| (r as f64 + 1.0 + spec.item_offset).powf(-spec.item_exponent))
        .collect();
    let alias = |w: Vec<f64>| {
        WeightedAliasIndex::new(w).map_err(|e| Error::invalid(format!("item weights: {e}")))
    };
    let global = alias(popularity.clone())?;
    // Each item belongs to one community; a community samples its members by popularity.
    let community: Vec<usize> = (0..spec.items)
        .map(|_| rng.random_range(0..spec.communities))
        .collect();
    let members: Vec<Vec<u32>> = (0..spec.communities)
        .map(|c| {
            (0..spec.items as u32)
                .filter(|&i| community[i as usize] == c)
                .collect()
        })
        .collect();
    let within: Vec<Option<WeightedAliasIndex<f64>>> = members
        .iter()
        .map(|m| {
            (!m.is_empty())
                .then(|| alias(m.iter().map(|&i| popularity[i as usize]).collect()))
                .transpose()
        })
        .collect::<Result<_>>()?;
    let seed = spec.seed;
    let rows: Vec<Vec<(u32, u32)>> = degrees
        .par_iter()
        .enumerate()
        .map(|(u, &degree)| {
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed ^ (u as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let home = rng.random_range(0..members.len());
            let mut seen = std::collections::HashSet::with_capacity(degree * 2);
            let mut out = Vec::with_capacity(degree);
            // Rejection of repeats; the cap of half the items keeps the expected tries small.
            let mut tries = 0usize;
            while out.len() < degree && tries < degree * 50 {
                tries += 1;
                let item = match &within[home] {
                    Some(w) if rng.random_bool(0.5) => members[home][w.sample(&mut rng)],
                    _ => global.sample(&mut rng) as u32,
                };
                if seen.insert(item) {
                    out.push((u as u32, item));
                }
            }
            out
        })
        .collect();
    let pairs: Vec<(u32, u32)> = rows.into_iter().flatten().collect();
    let names = |prefix: &str, n: usize| {
        IdMap::from_names((0..n).map(|i| format!("{prefix}{i}"))).map(Arc::new)
    };
    Interactions::from_index_pairs(names("u", spec.users)?, names("i", spec.items)?, &pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_ml20m_has_the_requested_shape_and_is_seeded() {
        let spec = SyntheticSpec::ml20m().scaled(0.1).unwrap();
        let a = generate(&spec).unwrap();
        let r = a.matrix();
        assert_eq!((r.rows(), r.cols()), (spec.users, spec.items));
        let nnz = r.nnz() as f64;
        assert!((nnz / spec.interactions as f64 - 1.0).abs() < 0.02, "{nnz}");
        let degrees = crate::dataset::user_degrees(r);
        assert!(degrees.iter().all(|&d| d >= spec.min_user_degree as f32));
        let items = crate::dataset::item_degrees(r);
        // Long-tailed: the most popular item is far above the median one.
        let mut sorted = items.clone();
        sorted.sort_by(f32::total_cmp);
        assert!(sorted[sorted.len() - 1] > 10.0 * sorted[sorted.len() / 2]);
        let b = generate(&spec).unwrap();
        assert_eq!(a.matrix().nnz(), b.matrix().nnz());
        assert_eq!(a.matrix().row_indices(7), b.matrix().row_indices(7));
    }
}
