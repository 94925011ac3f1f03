//! Work split over the machine's cores: large profiles are decoded and walked in parts,
//! one thread per part, and the parts' results combined in order, so that the result
//! is the same as from one pass.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

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

/// Runs `f` on each item, the first on this thread and each other on a thread of its
/// own (or on this one, after the first, when the system refuses a thread), and returns
/// the results in the order of `items`. A panic in any part panics here.
pub(crate) fn map<I: Send, T: Send>(items: Vec<I>, f: impl Fn(I) -> T + Sync) -> Vec<T> {
    // Each item waits in a slot, so that a thread the system refuses leaves it here.
    let slots: Vec<Mutex<Option<I>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let run = |slot: &Mutex<Option<I>>| {
        let item = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        item.map(&f)
    };
    let Some((first, others)) = slots.split_first() else {
        return Vec::new();
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = others
            .iter()
            .map(|slot| {
                let thread = std::thread::Builder::new().spawn_scoped(scope, || run(slot));
                (slot, thread)
            })
            .collect();
        let mut results = vec![run(first)];
        for (slot, thread) in others {
            results.push(match thread {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => run(slot),
            });
        }
        // Every slot held its item until run once.
        results.into_iter().flatten().collect()
    })
}

/// Runs `other` on a thread of its own (or after `here`, when the system refuses a
/// thread) while `here` runs on this one, and returns both results.
pub(crate) fn join<A: Send, B>(
    other: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    let other = Mutex::new(Some(other));
    let run = || {
        other
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|f| f())
    };
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().spawn_scoped(scope, run);
        let b = here();
        let a = match thread {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => run(),
        };
        // `other` was taken once: by its thread, or here when there was none.
        (a.into_iter().next().expect("other ran"), b)
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
        let sums = map(ranges, |range| range.sum::<usize>());
        assert_eq!(sums, vec![1, 5, 9, 13]);
        assert!(map(Vec::<Range<usize>>::new(), |range| range.len()).is_empty());
    }
}
