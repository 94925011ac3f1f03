//! Work split over the machine's cores: large profiles are decoded and walked in parts,
//! and the parts' results combined in order, so that the result is the same as from one
//! pass.
//!
//! The parts run on a crew of helper threads, one per core beyond the first, started at
//! the first split and kept for the life of the process. A helper that runs out of work
//! stays awake for a few milliseconds before it sleeps. A decoding hands parts over
//! several times within a few tens of milliseconds, and a thread that is started, or
//! woken from sleep, can wait a whole scheduler tick (3 to 4 ms) when the system queues
//! it behind the busy thread instead of on the idle core. A thread waiting for its parts
//! runs queued parts meanwhile, its own first, so no part waits for a free helper.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// How many parts `work` units should be split into: one per core, each of at least
/// `min_per_part` units, and at most 8.
pub(crate) fn parts(work: usize, min_per_part: usize) -> usize {
    let wanted = work / min_per_part.max(1);
    if wanted <= 1 {
        // Most profiles: no need to ask how many cores there are (it reads files).
        return 1;
    }
    wanted.min(cores())
}

/// The cores to use, at most 8. Asked once: the answer reads files (cgroup quotas).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
    })
}

/// Runs `f` on each item, the first on this thread and the others on the crew (or on
/// this thread, when no helper is free), and returns the results in the order of
/// `items`. A panic in any part panics here.
pub(crate) fn map<I: Send, T: Send>(items: Vec<I>, f: impl Fn(I) -> T + Sync) -> Vec<T> {
    let mut items = items.into_iter();
    let Some(first) = items.next() else {
        return Vec::new();
    };
    let f = &f;
    let others: Vec<Handed<'_, T>> = items.map(|item| hand(move || f(item))).collect();
    let mut results = Vec::with_capacity(others.len() + 1);
    results.push(f(first));
    results.extend(others.into_iter().map(Handed::finish));
    results
}

/// Runs `other` on the crew (or after `here`, when no helper is free) while `here` runs
/// on this thread, and returns both results.
pub(crate) fn join<A: Send, B>(
    other: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    let other = hand(other);
    let b = here();
    (other.finish(), b)
}

/// How long a helper out of work stays awake, looking for more, before it sleeps: longer
/// than the steps of a decoding that run on one thread, between those that are split.
const STAY_AWAKE: Duration = Duration::from_millis(10);

/// Work handed to the crew, with its borrows' lifetime erased (see [`hand`]).
type Work = Box<dyn FnOnce() + Send + 'static>;

/// A part handed to the crew: its work until a thread takes it, and whether it has run.
struct Job {
    work: Mutex<Option<Work>>,
    done: AtomicBool,
}

impl Job {
    /// Runs the work unless a thread took it already; whether this call ran it.
    fn run(&self) -> bool {
        let work = lock(&self.work).take();
        let Some(work) = work else {
            return false;
        };
        work();
        self.done.store(true, Ordering::Release);
        true
    }
}

/// The parts waiting for a thread, and the helpers that take them.
struct Crew {
    queue: Mutex<VecDeque<Arc<Job>>>,
    /// The queue's length, for threads looking for work without taking the lock.
    queued: AtomicUsize,
    /// Wakes a sleeping helper when a part is queued.
    queued_one: Condvar,
}

static CREW: Crew = Crew {
    queue: Mutex::new(VecDeque::new()),
    queued: AtomicUsize::new(0),
    queued_one: Condvar::new(),
};

/// The crew, whose helpers start at the first call.
fn crew() -> &'static Crew {
    static HELPERS: Once = Once::new();
    HELPERS.call_once(|| {
        for _ in 1..cores() {
            // A helper the system refuses leaves its share to the threads that wait.
            let _ = std::thread::Builder::new()
                .name("profile-helper".into())
                .spawn(|| CREW.help());
        }
    });
    &CREW
}

impl Crew {
    fn push(&self, job: Arc<Job>) {
        let mut queue = lock(&self.queue);
        queue.push_back(job);
        self.queued.store(queue.len(), Ordering::Release);
        drop(queue);
        self.queued_one.notify_one();
    }

    /// Runs the first queued part, if any; whether there was one.
    fn run_queued(&self) -> bool {
        if self.queued.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut queue = lock(&self.queue);
        let job = queue.pop_front();
        self.queued.store(queue.len(), Ordering::Release);
        drop(queue);
        let Some(job) = job else {
            return false;
        };
        // A part its owner took back and ran counts as found work all the same.
        job.run();
        true
    }

    /// A helper's life: run parts, stay awake a while when there are none, then sleep
    /// until one is queued.
    fn help(&self) {
        loop {
            let mut idle_since = Instant::now();
            let mut pause = Pause::default();
            loop {
                if self.run_queued() {
                    idle_since = Instant::now();
                } else if pause.once() && idle_since.elapsed() >= STAY_AWAKE {
                    // The clock is read at each yield only: read at every turn, it
                    // took more of the idle helper's time than looking for work.
                    break;
                }
            }
            let mut queue = lock(&self.queue);
            while queue.is_empty() {
                queue = self
                    .queued_one
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

/// A pause in a wait that spins: mostly a processor hint, sometimes a yield, so that a
/// waiting thread on the same core as the one it waits for lets that one run.
#[derive(Default)]
struct Pause(u32);

impl Pause {
    /// Pauses once; whether it yielded.
    fn once(&mut self) -> bool {
        self.0 = self.0.wrapping_add(1);
        let yields = self.0.is_multiple_of(64);
        if yields {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
        yields
    }
}

/// A part handed to the crew, whose result [`Handed::finish`] returns. It stands for the
/// borrows of the part's work: dropping it waits until the work has run, or runs it.
struct Handed<'a, T> {
    job: Arc<Job>,
    result: Arc<Mutex<Option<std::thread::Result<T>>>>,
    _borrows: PhantomData<&'a ()>,
}

/// Queues `f` for the crew.
fn hand<'a, T: Send + 'a>(f: impl FnOnce() -> T + Send + 'a) -> Handed<'a, T> {
    let result = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&result);
    let work: Box<dyn FnOnce() + Send + 'a> = Box::new(move || {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        *lock(&slot) = Some(ran);
    });
    // SAFETY: only the lifetime changes. The work has run before 'a ends: the `Handed`
    // returned lives no longer than 'a, is never leaked (this module finishes or drops
    // each one), and both return only once the work has run, here or on the thread that
    // took it. The work never unwinds: its panic is caught and kept for the caller.
    let work: Work = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Work>(work) };
    let job = Arc::new(Job {
        work: Mutex::new(Some(work)),
        done: AtomicBool::new(false),
    });
    crew().push(Arc::clone(&job));
    Handed {
        job,
        result,
        _borrows: PhantomData,
    }
}

impl<T> Handed<'_, T> {
    /// Returns once the work has run: here, if no thread has taken it yet; otherwise
    /// running other queued parts while the thread that took it finishes.
    fn wait(&self) {
        if self.job.run() {
            return;
        }
        let mut pause = Pause::default();
        while !self.job.done.load(Ordering::Acquire) {
            if !CREW.run_queued() {
                pause.once();
            }
        }
    }

    /// The work's result, or its panic, resumed here.
    fn finish(self) -> T {
        self.wait();
        let ran = lock(&self.result)
            .take()
            .expect("finished work leaves its result");
        ran.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl<T> Drop for Handed<'_, T> {
    fn drop(&mut self) {
        self.wait();
    }
}

/// Locks `mutex`, whose data stays whole even if a holder panicked: every holder changes
/// it only in steps that cannot panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

    #[test]
    fn a_panic_in_a_part_reaches_the_caller_and_the_crew_carries_on() {
        let caught = std::panic::catch_unwind(|| {
            map(vec![1, 2, 3, 4], |i| {
                if i == 3 {
                    panic!("part three fails");
                }
                i
            })
        });
        let panic = caught.expect_err("the third part panicked");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"part three fails"));
        let caught = std::panic::catch_unwind(|| join(|| panic!("the other side fails"), || 1));
        assert!(caught.is_err());
        assert_eq!(map(vec![1, 2, 3, 4], |i| i * 10), vec![10, 20, 30, 40]);
    }

    #[test]
    fn parts_split_again_inside_parts_from_many_threads_at_once() {
        // More callers than cores, each splitting its parts again, while threads take
        // each other's parts: every result stays the caller's own.
        let data: Vec<u64> = (0..10_000).collect();
        std::thread::scope(|scope| {
            let callers: Vec<_> = (0..6)
                .map(|caller| {
                    let data = &data;
                    scope.spawn(move || {
                        for round in 0..50u64 {
                            let halves = map(vec![0..5_000, 5_000..10_000], |range| {
                                let (low, high) = join(
                                    || data[range.start..range.start + 2_500].iter().sum::<u64>(),
                                    || data[range.start + 2_500..range.end].iter().sum::<u64>(),
                                );
                                low + high + round + caller
                            });
                            assert_eq!(
                                halves.iter().sum::<u64>(),
                                49_995_000 + 2 * (round + caller)
                            );
                        }
                    })
                })
                .collect();
            for caller in callers {
                caller.join().unwrap();
            }
        });
    }
}
