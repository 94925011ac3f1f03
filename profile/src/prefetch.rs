//! A hint to the processor to start loading memory that will be read soon, for loops
//! whose next reads the hardware cannot guess: lookups at random in a large table, or
//! records whose length is only known once read.

/// Asks the processor to load the cache line at `at`. Only a hint: it reads nothing the
/// program sees, and does nothing where the target has no such instruction.
#[inline]
pub(crate) fn prefetch<T>(at: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch cannot fault, even for an address outside any allocation,
        // and SSE is part of x86_64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
