//! Where an id is among a profile's locations or functions: protobuf profiles refer to
//! them by id, and the crate keeps them in vectors, looked up millions of times.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

/// The position of each id in a list of ids; of the last, for an id listed twice.
pub(crate) enum IdIndex {
    /// When the ids count up by one from `first`, as Go and most writers number them:
    /// an id's position is its distance from the first.
    Consecutive {
        first: u64,
        len: u32,
    },
    /// When ids are small, as writers number them from 1: indexed by id, `u32::MAX` for
    /// none.
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32, FxBuildHasher>),
}

impl IdIndex {
    pub(crate) fn new(ids: impl ExactSizeIterator<Item = u64> + Clone) -> IdIndex {
        if let Some(first) = ids.clone().next()
            && let Ok(len) = u32::try_from(ids.len())
            && ids
                .clone()
                .enumerate()
                .all(|(i, id)| first.checked_add(i as u64) == Some(id))
        {
            return IdIndex::Consecutive { first, len };
        }
        let max = ids.clone().max().unwrap_or(0);
        if max <= 4 * ids.len() as u64 + 1024 {
            let mut dense = vec![u32::MAX; max as usize + 1];
            for (i, id) in ids.enumerate() {
                dense[id as usize] = i as u32;
            }
            IdIndex::Dense(dense)
        } else {
            IdIndex::Sparse(ids.enumerate().map(|(i, id)| (id, i as u32)).collect())
        }
    }

    // Inlined into the sample reader, which looks up every location id of every sample
    // of a profile not read as it was unzipped: a call per id cost a tenth of `top`'s
    // time on a large one.
    #[inline]
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        match *self {
            IdIndex::Consecutive { first, len } => id
                .checked_sub(first)
                .filter(|&i| i < u64::from(len))
                .map(|i| i as u32),
            IdIndex::Dense(ref v) => usize::try_from(id)
                .ok()
                .and_then(|i| v.get(i))
                .copied()
                .filter(|&i| i != u32::MAX),
            IdIndex::Sparse(ref m) => m.get(&id).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_index_finds_the_position_of_each_id_and_no_other() {
        let cases: [(&[u64], &str); 7] = [
            (&[1, 2, 3, 4], "Consecutive"),
            (&[7, 8, 9], "Consecutive"),
            (&[u64::MAX - 1, u64::MAX], "Consecutive"),
            (&[u64::MAX, 0], "Sparse"),
            (&[1, 3, 2, 4], "Dense"),
            (&[5, 5, 6], "Dense"),
            (&[1, 1 << 40], "Sparse"),
        ];
        for (ids, kind) in cases {
            let index = IdIndex::new(ids.iter().copied());
            let made = match index {
                IdIndex::Consecutive { .. } => "Consecutive",
                IdIndex::Dense(_) => "Dense",
                IdIndex::Sparse(_) => "Sparse",
            };
            assert_eq!(made, kind, "{ids:?}");
            // The position of the last listing of each id, as a map filled in order.
            let expected: HashMap<u64, u32> = ids
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, i as u32))
                .collect();
            let around = ids
                .iter()
                .flat_map(|&id| [id.wrapping_sub(1), id, id.wrapping_add(1)]);
            for id in around.chain([0, u64::MAX]) {
                assert_eq!(index.get(id), expected.get(&id).copied(), "{ids:?}: {id}");
            }
        }
    }
}
