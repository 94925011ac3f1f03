//! Work split over the machine's cores: large profiles are decoded and walked in parts,
//! one thread per part, and the parts' results combined in order, so that the result
//! is the same as from one pass.

use std::ops::Range;

/// How many parts `work` units should be split into: one per core, each of at least
/// `min_per_part` units, and at most 8.
pub(crate) fn parts(work: usize, min_per_part: usize) -> usize {
    let wanted = work / min_per_part.max(1);
    if wanted <= 1 {
        // Most profiles: no need to ask how many cores there are (it reads files).
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    wanted.min(cores.min(8))
}

/// Runs `f` on each range, the first on this thread and each other on a thread of its
/// own (or on this one, after the first, when the system refuses a thread), and returns
/// the results in the order of `ranges`. A panic in any part panics here.
pub(crate) fn map<T: Send>(
    ranges: &[Range<usize>],
    f: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    let Some((first, others)) = ranges.split_first() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|scope| {
        let others: Vec<_> = others
            .iter()
            .map(|range| {
                let part = range.clone();
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || f(part))
                    .map_err(|_| range.clone())
            })
            .collect();
        let mut results = vec![f(first.clone())];
        for other in others {
            results.push(match other {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(range) => f(range),
            });
        }
        results
    })
}

/// Splits `items` into `parts` ranges (at least one) of about equal weight, where
/// `start(item)` is the total weight of the items before it and never decreases, and
/// `total` the weight of all.
pub(crate) fn split<T>(
    items: &[T],
    parts: usize,
    total: usize,
    start: impl Fn(&T) -> usize,
) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let mut ranges = Vec::with_capacity(parts);
    let mut from = 0;
    for k in 1..parts {
        let target = total / parts * k;
        let to = items.partition_point(|item| start(item) < target).max(from);
        ranges.push(from..to);
        from = to;
    }
    ranges.push(from..items.len());
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order() {
        let ranges = split(&[0, 10, 20, 30, 40, 50, 60, 70], 4, 80, |&start| start);
        assert_eq!(ranges, vec![0..2, 2..4, 4..6, 6..8]);
        let sums = map(&ranges, |range| range.sum::<usize>());
        assert_eq!(sums, vec![1, 5, 9, 13]);
        assert!(map(&[], |range| range.len()).is_empty());
    }
}
