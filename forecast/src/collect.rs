//! Samples as they are read, in any order: repeated timestamps merged by the user's
//! rule, rows sorted by time, and (for a forecast, which reads only the end of a
//! series) memory bounded by keeping only the newest samples.

use crate::series::Sample;

/// How samples with the same timestamp are merged (`--duplicates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// The highest value: peaks are what capacity is sized for.
    #[default]
    Max,
    Mean,
    /// The one read last.
    Last,
    /// Refuse the series.
    Error,
}

impl Duplicates {
    pub const NAMES: [&'static str; 4] = ["max", "mean", "last", "error"];

    pub fn name(self) -> &'static str {
        match self {
            Duplicates::Max => "max",
            Duplicates::Mean => "mean",
            Duplicates::Last => "last",
            Duplicates::Error => "error",
        }
    }
}

impl std::str::FromStr for Duplicates {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "max" => Ok(Duplicates::Max),
            "mean" => Ok(Duplicates::Mean),
            "last" => Ok(Duplicates::Last),
            "error" => Ok(Duplicates::Error),
            other => Err(format!(
                "`{other}` is not one of {}",
                Duplicates::NAMES.join(", ")
            )),
        }
    }
}

/// Two rows with the same timestamp under [`Duplicates::Error`], by their positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    pub t: i64,
    pub first: u64,
    pub second: u64,
}

/// A row, or several merged: `v` is the sum of their values under
/// [`Duplicates::Mean`], NaN while none has a value.
#[derive(Debug, Clone, Copy)]
struct Row {
    t: i64,
    v: f64,
    /// Position in the input (line or sample number) of the last row merged in.
    at: u32,
    /// Values merged into `v` (the low 31 bits), and [`MERGED`].
    n: u32,
}

/// Set in [`Row::n`] once other rows have been merged into the row.
const MERGED: u32 = 1 << 31;

/// What reading saw, for the notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows with a time.
    pub rows: usize,
    /// Rows whose value was NaN, empty or not a number (gaps).
    pub gap_rows: usize,
    /// Rows earlier in time than a row before them.
    pub out_of_order: usize,
    /// Timestamps that appeared more than once, and the rows merged into them.
    pub repeated_times: usize,
    pub merged_rows: usize,
    /// Timestamps older than the newest `keep`, not kept.
    pub dropped: usize,
}

pub struct Collector {
    policy: Duplicates,
    keep: Option<usize>,
    rows: Vec<Row>,
    /// Whether `rows` is in (time, position) order.
    sorted: bool,
    latest: i64,
    counts: Counts,
}

impl Collector {
    pub fn new(policy: Duplicates, keep: Option<usize>) -> Collector {
        Collector {
            policy,
            keep: keep.map(|k| k.max(2)),
            rows: Vec::new(),
            sorted: true,
            latest: i64::MIN,
            counts: Counts::default(),
        }
    }

    /// A row; `v` is NaN for a row without a value (a gap).
    pub fn push(&mut self, t: i64, v: f64, at: u64) -> Result<(), Repeated> {
        if t < self.latest {
            self.counts.out_of_order += 1;
        }
        if let Some(last) = self.rows.last() {
            self.sorted &= t >= last.t;
        }
        self.latest = self.latest.max(t);
        self.counts.rows += 1;
        self.counts.gap_rows += usize::from(v.is_nan());
        self.rows.push(Row {
            t,
            v,
            at: u32::try_from(at).unwrap_or(u32::MAX),
            n: u32::from(!v.is_nan()),
        });
        match self.keep {
            Some(keep) if self.rows.len() >= (2 * keep).max(4096) => self.compact(keep),
            _ => Ok(()),
        }
    }

    /// Sorts, merges rows of equal time and keeps the newest `keep`.
    fn compact(&mut self, keep: usize) -> Result<(), Repeated> {
        if !self.sorted {
            self.rows.sort_unstable_by_key(|r| (r.t, r.at));
            self.sorted = true;
        }
        let mut out = 0;
        for i in 0..self.rows.len() {
            let row = self.rows[i];
            if out > 0 && self.rows[out - 1].t == row.t {
                let kept = &mut self.rows[out - 1];
                if self.policy == Duplicates::Error {
                    return Err(Repeated {
                        t: row.t,
                        first: u64::from(kept.at),
                        second: u64::from(row.at),
                    });
                }
                if kept.n & MERGED == 0 {
                    self.counts.repeated_times += 1;
                    self.counts.merged_rows += 1;
                }
                self.counts.merged_rows += 1;
                // NaN is a missing value: it never replaces one.
                kept.v = match self.policy {
                    _ if row.v.is_nan() => kept.v,
                    _ if kept.v.is_nan() => row.v,
                    Duplicates::Max => kept.v.max(row.v),
                    Duplicates::Mean => kept.v + row.v,
                    Duplicates::Last | Duplicates::Error => row.v,
                };
                kept.n = ((kept.n & !MERGED) + (row.n & !MERGED)) | MERGED;
                kept.at = row.at;
            } else {
                self.rows[out] = row;
                out += 1;
            }
        }
        self.rows.truncate(out);
        if out > keep {
            self.counts.dropped += out - keep;
            self.rows.drain(..out - keep);
        }
        Ok(())
    }

    /// The samples in time order, one per timestamp, and what was seen.
    pub fn finish(mut self) -> Result<(Vec<Sample>, Counts), Repeated> {
        self.compact(self.keep.unwrap_or(usize::MAX))?;
        let policy = self.policy;
        let samples = self
            .rows
            .iter()
            .map(|r| {
                let v = if policy == Duplicates::Mean {
                    r.v / f64::from((r.n & !MERGED).max(1))
                } else {
                    r.v
                };
                Sample { t: r.t, v }
            })
            .collect();
        Ok((samples, self.counts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(policy: Duplicates, keep: Option<usize>, rows: &[(i64, f64)]) -> Vec<(i64, f64)> {
        let mut c = Collector::new(policy, keep);
        for (i, &(t, v)) in rows.iter().enumerate() {
            c.push(t, v, i as u64 + 2).unwrap();
        }
        c.finish().unwrap().0.iter().map(|s| (s.t, s.v)).collect()
    }

    #[test]
    fn duplicates_merge_by_policy_and_rows_sort() {
        let rows = [
            (60, 1.0),
            (0, 5.0),
            (60, 3.0),
            (120, 2.0),
            (60, 2.0),
            (120, f64::NAN),
        ];
        assert_eq!(
            collect(Duplicates::Max, None, &rows),
            [(0, 5.0), (60, 3.0), (120, 2.0)]
        );
        assert_eq!(
            collect(Duplicates::Mean, None, &rows),
            [(0, 5.0), (60, 2.0), (120, 2.0)]
        );
        assert_eq!(
            collect(Duplicates::Last, None, &rows),
            [(0, 5.0), (60, 2.0), (120, 2.0)]
        );
        let mut c = Collector::new(Duplicates::Error, None);
        for (i, &(t, v)) in rows.iter().enumerate() {
            c.push(t, v, i as u64 + 2).unwrap();
        }
        assert_eq!(
            c.finish().unwrap_err(),
            Repeated {
                t: 60,
                first: 2,
                second: 4
            }
        );
    }

    #[test]
    fn counts_say_what_happened() {
        let mut c = Collector::new(Duplicates::Max, None);
        for (i, t) in [0, 60, 60, 30, 120, 120, 120].into_iter().enumerate() {
            c.push(t, 1.0, i as u64).unwrap();
        }
        c.push(180, f64::NAN, 8).unwrap();
        let (samples, counts) = c.finish().unwrap();
        assert_eq!(samples.len(), 5);
        assert!(samples[4].v.is_nan());
        assert_eq!(
            counts,
            Counts {
                rows: 8,
                gap_rows: 1,
                out_of_order: 1,
                repeated_times: 2,
                merged_rows: 5,
                dropped: 0
            }
        );
    }

    #[test]
    fn keeping_the_newest_bounds_memory_in_any_order() {
        // 20,000 rows, newest first, with every 7th timestamp repeated: only the newest
        // 100 distinct timestamps survive, merged.
        let mut rows = Vec::new();
        for t in (0..20_000i64).rev() {
            rows.push((t, t as f64));
            if t % 7 == 0 {
                rows.push((t, -1.0));
            }
        }
        let kept = collect(Duplicates::Max, Some(100), &rows);
        let want: Vec<(i64, f64)> = (19_900..20_000).map(|t| (t, t as f64)).collect();
        assert_eq!(kept, want);
    }
}
