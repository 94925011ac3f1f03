//! The table that numbers a legacy profile's addresses from 0, in the order they are
//! first inserted: one location per address.
//!
//! A large CPU profile means millions of lookups, at random, into a table larger than
//! the cache. So each slot holds the address and its number side by side, for one cache
//! line per lookup; and [`AddressIndex::insert_all`], given the addresses to look up
//! next, prefetches their slots, so that many lookups wait on memory at once rather than
//! one after another. hashbrown, used elsewhere, has no way to prefetch a key's slot.

use crate::prefetch;

/// How many lookups ahead [`AddressIndex::insert_all`] prefetches: enough to keep the
/// memory system busy, few enough that the lines are still in cache when used.
const PREFETCH_AHEAD: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Slot {
    address: u64,
    /// [`FREE`] in an unused slot.
    number: u32,
}

const FREE: u32 = u32::MAX;
const FREE_SLOT: Slot = Slot {
    address: 0,
    number: FREE,
};

/// Open addressing with linear probing, at most three slots in four used.
#[derive(Debug)]
pub(crate) struct AddressIndex {
    /// A power of two in length.
    slots: Vec<Slot>,
    /// 64 minus log2 of the slot count: the hash's top bits pick the first slot.
    shift: u32,
    addresses: Vec<u64>,
}

impl Default for AddressIndex {
    fn default() -> Self {
        AddressIndex::with_slots(16)
    }
}

impl AddressIndex {
    /// A table with room for `count` addresses before it grows.
    pub(crate) fn with_capacity(count: usize) -> Self {
        AddressIndex::with_slots((count * 4).div_ceil(3).next_power_of_two().max(16))
    }

    fn with_slots(count: usize) -> Self {
        AddressIndex {
            slots: vec![FREE_SLOT; count],
            shift: 64 - count.trailing_zeros(),
            addresses: Vec::new(),
        }
    }

    /// The slot where the search for `address` starts. Multiplying by 2^64 / φ and
    /// keeping the top bits spreads addresses that differ by a fixed stride.
    fn first_slot(&self, address: u64) -> usize {
        (address.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The slot that holds `address`, or the free slot where it belongs.
    fn slot_of(&self, address: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = self.first_slot(address);
        loop {
            let slot = self.slots[i];
            if slot.number == FREE || slot.address == address {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    pub(crate) fn get(&self, address: u64) -> Option<u32> {
        let slot = self.slots[self.slot_of(address)];
        (slot.number != FREE).then_some(slot.number)
    }

    /// The number of `address`, and whether it is new.
    #[inline]
    pub(crate) fn insert(&mut self, address: u64) -> (u32, bool) {
        let i = self.slot_of(address);
        if self.slots[i].number != FREE {
            return (self.slots[i].number, false);
        }
        let number = u32::try_from(self.addresses.len())
            .ok()
            .filter(|&n| n != FREE)
            .expect("fewer than 2^32 - 1 distinct addresses: a profile's size is limited");
        self.addresses.push(address);
        if self.addresses.len() * 4 > self.slots.len() * 3 {
            self.grow();
        } else {
            self.slots[i] = Slot { address, number };
        }
        (number, true)
    }

    /// Twice the slots, every address placed again.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let mut grown = AddressIndex::with_slots(self.slots.len() * 2);
        grown.addresses = std::mem::take(&mut self.addresses);
        for (number, &address) in grown.addresses.iter().enumerate() {
            if let Some(&next) = grown.addresses.get(number + PREFETCH_AHEAD) {
                grown.prefetch(next);
            }
            let i = grown.slot_of(address);
            grown.slots[i] = Slot {
                address,
                number: number as u32,
            };
        }
        *self = grown;
    }

    /// The number of each of `addresses` in turn, and whether it is new: [`insert`] on
    /// each, with the slot of the one [`PREFETCH_AHEAD`] further on prefetched.
    ///
    /// [`insert`]: Self::insert
    pub(crate) fn insert_all<'a>(
        &'a mut self,
        addresses: &'a [u64],
    ) -> impl Iterator<Item = (u32, bool)> + 'a {
        for &address in addresses.iter().take(PREFETCH_AHEAD) {
            self.prefetch(address);
        }
        addresses.iter().enumerate().map(move |(i, &address)| {
            if let Some(&next) = addresses.get(i + PREFETCH_AHEAD) {
                self.prefetch(next);
            }
            self.insert(address)
        })
    }

    /// Asks the processor to fetch the slot where the search for `address` starts. Only
    /// a hint: a table that grows in between is still correct.
    #[inline]
    fn prefetch(&self, address: u64) {
        prefetch::prefetch(&self.slots[self.first_slot(address)]);
    }

    /// The addresses in the order they were first inserted.
    pub(crate) fn addresses(&self) -> &[u64] {
        &self.addresses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_numbered_in_the_order_first_inserted_across_growth() {
        let mut index = AddressIndex::default();
        // A stride that is a multiple of the slot count, and 0, which a free slot's
        // address field also holds.
        let addresses: Vec<u64> = (0..5_000u64).map(|i| i * 4096).collect();
        let (first, second) = addresses.split_at(1_000);
        for (n, &a) in first.iter().enumerate() {
            assert_eq!(index.insert(a), (n as u32, true));
        }
        // The first 1,000 again, then new ones.
        let again_then_new: Vec<u64> = first.iter().chain(second).copied().collect();
        let numbers: Vec<(u32, bool)> = index.insert_all(&again_then_new).collect();
        for (n, &number) in numbers.iter().enumerate() {
            assert_eq!(number, (n as u32, n >= 1_000), "address {n}");
        }
        for (n, &a) in addresses.iter().enumerate().rev() {
            assert_eq!(index.insert(a), (n as u32, false));
            assert_eq!(index.get(a), Some(n as u32));
        }
        assert_eq!(index.get(1), None);
        assert_eq!(index.get(u64::MAX), None);
        assert_eq!(index.addresses(), addresses);
        assert!(index.slots.len() >= 5_000 * 4 / 3);
    }

    #[test]
    fn a_table_made_with_room_does_not_grow_until_full() {
        let mut index = AddressIndex::with_capacity(196_608);
        assert_eq!(index.slots.len(), 1 << 18);
        for a in 0..196_608 {
            index.insert(a * 7);
        }
        assert_eq!(index.slots.len(), 1 << 18);
        index.insert(1);
        assert_eq!(index.slots.len(), 1 << 19);
        assert_eq!(index.get(7 * 196_607), Some(196_607));
    }
}
