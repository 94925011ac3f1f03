//! Hash tables whose entries are bare 32-bit numbers into a list of values, each value
//! numbered from 0 in the order it was first added: for a profile's addresses and
//! function names. Entries hold no value, so a table stays small enough for the cache
//! over millions of lookups, and each value is held once.

use std::borrow::Borrow;
use std::hash::{BuildHasher as _, Hash};

use hashbrown::{HashTable, hash_table};
use rustc_hash::FxBuildHasher;

/// The number of `value` in `table`, whose entries are numbers into `values`.
pub(crate) fn find<T, Q>(table: &HashTable<u32>, values: &[T], value: &Q) -> Option<u32>
where
    T: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    table
        .find(FxBuildHasher.hash_one(value), |&n| {
            values[n as usize].borrow() == value
        })
        .copied()
}

/// The number of `value` in `table`, added to `values` and numbered when new; and
/// whether it was.
#[inline]
pub(crate) fn insert<T, Q>(
    table: &mut HashTable<u32>,
    values: &mut Vec<T>,
    value: &Q,
) -> (u32, bool)
where
    T: Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
{
    let entry = table.entry(
        FxBuildHasher.hash_one(value),
        |&n| values[n as usize].borrow() == value,
        |&n| FxBuildHasher.hash_one(values[n as usize].borrow()),
    );
    match entry {
        hash_table::Entry::Occupied(found) => (*found.get(), false),
        hash_table::Entry::Vacant(slot) => {
            let n = values.len() as u32;
            values.push(value.to_owned());
            slot.insert(n);
            (n, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbered_in_the_order_first_added() {
        let (mut table, mut values) = (HashTable::new(), Vec::<String>::new());
        assert_eq!(insert(&mut table, &mut values, "b"), (0, true));
        assert_eq!(insert(&mut table, &mut values, "a"), (1, true));
        assert_eq!(insert(&mut table, &mut values, "b"), (0, false));
        // A value in the list but not in the table is not found.
        values.push("c".to_string());
        assert_eq!(find(&table, &values, "c"), None);
        assert_eq!(find(&table, &values, "a"), Some(1));
        let (mut table, mut numbers) = (HashTable::new(), Vec::<u64>::new());
        for i in 0..10_000u64 {
            assert_eq!(
                insert(&mut table, &mut numbers, &(i * 7919)),
                (i as u32, true)
            );
        }
        assert_eq!(find(&table, &numbers, &(42 * 7919)), Some(42));
    }
}
