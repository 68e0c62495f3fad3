//! Recursive spectral bisection of the item set (`docs/algorithm.md`, "partition").

use crate::error::Result;
use crate::progress::Control;
use crate::sparse::Csr;
use crate::svd::{randomized_svd, SvdOptions};

/// Splits the items `0..r.cols()` into parts of at most `ratio · I` items (at least one item each).
///
/// A set larger than that is split by the sign of the second right singular vector of
/// `diag(d_u'^-1/2) · R[:, P] · diag(d_P^-1/2)`, where `d_u'` are user degrees inside the set and
/// `d_P` the global item degrees; if one side would be empty, the set is split at the median.
pub fn spectral_partition(
    r: &Csr,
    item_degrees: &[f32],
    ratio: f64,
    seed: u64,
    ctl: &Control,
) -> Result<Vec<Vec<u32>>> {
    let limit = ratio * r.cols() as f64;
    let mut done = Vec::new();
    let mut pending = vec![(0..r.cols() as u32).collect::<Vec<u32>>()];
    while let Some(set) = pending.pop() {
        if (set.len() as f64) <= limit || set.len() < 2 {
            done.push(set);
            continue;
        }
        ctl.check()?;
        let (left, right) = bisect(r, item_degrees, &set, seed, ctl)?;
        pending.push(right);
        pending.push(left);
    }
    Ok(done)
}

fn bisect(
    r: &Csr,
    item_degrees: &[f32],
    set: &[u32],
    seed: u64,
    ctl: &Control,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let sub = r.select_columns(set);
    let user_scale: Vec<f32> = sub
        .row_counts()
        .iter()
        .map(|&c| (c.max(1) as f32).powf(-0.5))
        .collect();
    let item_scale: Vec<f32> = set
        .iter()
        .map(|&i| item_degrees[i as usize].powf(-0.5))
        .collect();
    let norm = sub.scaled(Some(&user_scale), Some(&item_scale));
    let svd = randomized_svd(&norm, &norm.transpose(), SvdOptions::spec(2, seed), ctl)?;
    let second = svd.vectors.cols().saturating_sub(1).min(1);
    let v = svd.vectors.col(second);
    let (mut left, mut right): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for (k, &item) in set.iter().enumerate() {
        if v[k] > 0.0 {
            left.push(item);
        } else {
            right.push(item);
        }
    }
    if left.is_empty() || right.is_empty() {
        let mut order: Vec<usize> = (0..set.len()).collect();
        order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then(a.cmp(&b)));
        let half = set.len() / 2;
        left = order[..half].iter().map(|&k| set[k]).collect();
        right = order[half..].iter().map(|&k| set[k]).collect();
        left.sort_unstable();
        right.sort_unstable();
    }
    Ok((left, right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_two_disconnected_communities() {
        // Users 0..20 take items 0..10, users 20..40 take items 10..20, plus one bridge.
        let mut pairs = Vec::new();
        for u in 0..40u32 {
            let base = if u < 20 { 0 } else { 10 };
            for k in 0..5 {
                pairs.push((u, base + (u * 3 + k) % 10));
            }
        }
        pairs.push((0, 15));
        let r = Csr::from_pairs(40, 20, &pairs).unwrap();
        let d = crate::dataset::item_degrees(&r);
        let parts = spectral_partition(&r, &d, 0.5, 1, &Control::default()).unwrap();
        assert_eq!(parts.len(), 2);
        let mut sorted: Vec<Vec<u32>> = parts.clone();
        sorted.sort();
        assert_eq!(sorted[0], (0..10).collect::<Vec<u32>>());
        assert_eq!(sorted[1], (10..20).collect::<Vec<u32>>());
        let all = spectral_partition(&r, &d, 1.0, 1, &Control::default()).unwrap();
        assert_eq!(all, vec![(0..20).collect::<Vec<u32>>()]);
        let small = spectral_partition(&r, &d, 0.2, 1, &Control::default()).unwrap();
        assert!(small.iter().all(|p| p.len() <= 4 && !p.is_empty()));
        assert_eq!(small.iter().map(Vec::len).sum::<usize>(), 20);
    }
}
