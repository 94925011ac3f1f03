//! The global allocator: the system's, which on Linux asks for transparent huge pages
//! on large blocks.
//!
//! Reading a large profile fills tens of megabytes of new memory. With 4 KiB pages that
//! is one page fault per page, a third of `gantry profile top`'s time on a 20 MB
//! profile; with 2 MiB pages it is one per 512. The kernel grants huge pages to memory
//! marked with `madvise(MADV_HUGEPAGE)` under its default setting (`madvise`), and to all
//! memory under `always`; under `never` the mark does nothing. glibc does the same for
//! all its blocks when `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` is set.

use std::alloc::{GlobalAlloc, Layout, System};

pub(crate) struct Allocator;

#[global_allocator]
static GLOBAL: Allocator = Allocator;

/// Blocks at least this large are marked: small ones would gain little and could cost
/// memory, as a huge page is granted whole.
#[cfg(target_os = "linux")]
const MARKED_FROM: usize = 4 << 20;

/// The size of a huge page on the platforms Linux runs gantry on (x86_64, aarch64 with
/// 4 KiB base pages).
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Marks the whole huge pages inside the block at `ptr` of `size` bytes, if it is large.
#[cfg(target_os = "linux")]
fn mark(ptr: *mut u8, size: usize) {
    if ptr.is_null() || size < MARKED_FROM {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + size) / HUGE_PAGE * HUGE_PAGE;
    if end > start {
        // SAFETY: the range lies within a block the system allocator just gave us, so
        // it is mapped and ours; MADV_HUGEPAGE changes how its pages are backed, not
        // their contents. Failure (an old kernel, huge pages compiled out) only means
        // small pages, so its result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn mark(_ptr: *mut u8, _size: usize) {}

// SAFETY: every call is passed to `System` unchanged; `mark` only advises the kernel
// about memory of the block returned.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let ptr = unsafe { System.alloc(layout) };
        mark(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        mark(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        mark(ptr, new_size);
        ptr
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The flags of the mapping that holds `address`, from `/proc/self/smaps`.
    fn mapping_flags(address: usize) -> Vec<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split_whitespace().next().unwrap_or_default();
            if let Some((start, end)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                )
            {
                inside = (start..end).contains(&address);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.split_whitespace().map(String::from).collect();
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    #[test]
    fn the_whole_huge_pages_of_a_large_block_are_marked() {
        let block = vec![1u8; 3 * MARKED_FROM];
        let first_huge_page = (block.as_ptr() as usize).next_multiple_of(HUGE_PAGE);
        let flags = mapping_flags(first_huge_page);
        // A kernel built without transparent huge pages refuses the mark.
        let kernel_has_them = std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists();
        assert_eq!(
            flags.iter().any(|f| f == "hg"),
            kernel_has_them,
            "{flags:?}"
        );
        assert!(block.iter().all(|&b| b == 1));
    }
}
