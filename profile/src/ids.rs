//! Where an id is among a profile's locations or functions: protobuf profiles refer to
//! them by id, and the crate keeps them in vectors, looked up millions of times.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

/// The position of each id in a list of ids; of the last, for an id listed twice.
pub(crate) enum IdIndex {
    /// When ids are small, as writers number them from 1: indexed by id, `u32::MAX` for
    /// none.
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32, FxBuildHasher>),
}

impl IdIndex {
    pub(crate) fn new(ids: impl ExactSizeIterator<Item = u64> + Clone) -> IdIndex {
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

    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        match self {
            IdIndex::Dense(v) => usize::try_from(id)
                .ok()
                .and_then(|i| v.get(i))
                .copied()
                .filter(|&i| i != u32::MAX),
            IdIndex::Sparse(m) => m.get(&id).copied(),
        }
    }
}
