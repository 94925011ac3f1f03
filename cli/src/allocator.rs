//! The global allocator: the system's, except that on Linux large blocks are mapped
//! aligned to huge pages and asked to use them.
//!
//! Reading a large profile fills tens of megabytes of new memory. With 4 KiB pages that
//! is one page fault per page, a third of `gantry profile top`'s time on a 20 MB
//! profile; with 2 MiB pages it is one per 512. The kernel grants huge pages to memory
//! marked with `madvise(MADV_HUGEPAGE)` under its default setting (`madvise`), and to all
//! memory under `always`; under `never` the mark does nothing. glibc does the same for
//! all its blocks when `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` is set.
//!
//! Only whole, aligned huge pages can be granted. glibc maps a large block wherever the
//! system puts it, so up to 2 MiB at each end of it stayed in 4 KiB pages: for the
//! 8.7 MB that a 1.5 MB gzipped profile unzips to, 550 faults on the thread that unzips.
//! So large blocks are mapped here, at a huge page's start.

use std::alloc::{GlobalAlloc, Layout, System};

pub(crate) struct Allocator;

#[global_allocator]
static GLOBAL: Allocator = Allocator;

#[cfg(target_os = "linux")]
mod large {
    /// Blocks at least this large are mapped here: small ones would gain little and
    /// could cost memory, as a huge page is granted whole.
    pub(super) const FROM: usize = 4 << 20;

    /// The size of a huge page on the platforms Linux runs gantry on (x86_64, aarch64
    /// with 4 KiB base pages).
    pub(super) const HUGE_PAGE: usize = 2 << 20;

    const PAGE: usize = 4 << 10;

    /// Whether a block of `size` bytes, aligned to `align`, is mapped here. A block
    /// that `mremap` moves is aligned to a page only, so larger alignments are left to
    /// the system allocator.
    pub(super) fn is_large(size: usize, align: usize) -> bool {
        size >= FROM && align <= PAGE
    }

    /// The length of the mapping of a block of `size` bytes.
    fn mapped(size: usize) -> usize {
        size.next_multiple_of(PAGE)
    }

    /// Maps a new block of `size` bytes, zeroed (as all new anonymous memory is), at
    /// the start of a huge page; null if the system refuses.
    pub(super) fn map(size: usize) -> *mut u8 {
        let length = mapped(size);
        let Some(reserved) = length.checked_add(HUGE_PAGE) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a new private anonymous mapping touches no memory of the program.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let start = start as usize;
        let block = start.next_multiple_of(HUGE_PAGE);
        // SAFETY: both ranges lie in the mapping just made and outside the block; they
        // are page-aligned, since the mapping and the block are.
        unsafe {
            if block > start {
                libc::munmap(start as *mut libc::c_void, block - start);
            }
            let tail = block + length;
            let end = start + reserved;
            if end > tail {
                libc::munmap(tail as *mut libc::c_void, end - tail);
            }
        }
        mark(block, length);
        block as *mut u8
    }

    /// Unmaps a block that [`map`] or [`remap`] made for `size` bytes.
    ///
    /// # Safety
    ///
    /// `block` must be such a block, not used after this.
    pub(super) unsafe fn unmap(block: *mut u8, size: usize) {
        // SAFETY: the caller's promise; the mapping is exactly `mapped(size)` long.
        unsafe { libc::munmap(block.cast(), mapped(size)) };
    }

    /// Grows or shrinks a block that [`map`] made for `size` bytes to `new_size`, both
    /// large, moving its pages rather than copying them when it must move; null if the
    /// system refuses, and the block is then left as it was.
    ///
    /// # Safety
    ///
    /// `block` must be such a block; it is not used after this unless null is returned.
    pub(super) unsafe fn remap(block: *mut u8, size: usize, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's promise; the mapping is exactly `mapped(size)` long.
        let moved = unsafe {
            libc::mremap(
                block.cast(),
                mapped(size),
                mapped(new_size),
                libc::MREMAP_MAYMOVE,
            )
        };
        if moved == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        // Grown in place or moved, the mark holds for the old pages; the new ones get it
        // here. A block that moved may no longer start on a huge page.
        mark(moved as usize, mapped(new_size));
        moved.cast()
    }

    /// Marks the mapping of `length` bytes at `start` for huge pages. The whole mapping
    /// is marked, not only its whole huge pages, so that it stays one area that
    /// `mremap` can move; the kernel backs with huge pages only what fills one.
    fn mark(start: usize, length: usize) {
        // SAFETY: the range is a mapping of ours; MADV_HUGEPAGE changes how its pages
        // are backed, not their contents. Failure (an old kernel, huge pages compiled
        // out) only means small pages, so its result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, length, libc::MADV_HUGEPAGE);
        }
    }
}

// SAFETY: blocks are either the system allocator's, passed through unchanged, or (on
// Linux, for large sizes) mappings of their own; which, is decided by the layout alone,
// which the caller passes the same to every call for a block.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if large::is_large(layout.size(), layout.align()) {
            return large::map(layout.size());
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if large::is_large(layout.size(), layout.align()) {
            // A new mapping is zeroed already, and untouched until used.
            return large::map(layout.size());
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(target_os = "linux")]
        if large::is_large(layout.size(), layout.align()) {
            // SAFETY: a large layout's block was mapped by `large::map` or `remap`.
            return unsafe { large::unmap(ptr, layout.size()) };
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        #[cfg(target_os = "linux")]
        {
            let was_large = large::is_large(layout.size(), layout.align());
            let is_large = large::is_large(new_size, layout.align());
            if was_large && is_large {
                // SAFETY: a large layout's block was mapped by `large::map` or `remap`.
                return unsafe { large::remap(ptr, layout.size(), new_size) };
            }
            if was_large || is_large {
                // SAFETY: the caller promises `new_size` is valid for the alignment.
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                // SAFETY: a layout of nonzero size, as `new_size` is (the caller's
                // contract).
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks hold at least the bytes copied, and are
                    // distinct; the old one is freed as the caller allocated it.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                return new;
            }
        }
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::large::{FROM, HUGE_PAGE};

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

    fn marked(address: usize) -> bool {
        mapping_flags(address).iter().any(|f| f == "hg")
    }

    /// A kernel built without transparent huge pages refuses the mark.
    fn kernel_has_huge_pages() -> bool {
        std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists()
    }

    #[test]
    fn a_large_block_starts_on_a_huge_page_and_is_marked() {
        let block = vec![0u8; 3 * FROM + 5];
        assert_eq!(block.as_ptr() as usize % HUGE_PAGE, 0);
        assert_eq!(marked(block.as_ptr() as usize), kernel_has_huge_pages());
        assert!(block.iter().all(|&b| b == 0));
        let filled = vec![7u8; FROM];
        assert_eq!(filled.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(filled.iter().all(|&b| b == 7));
    }

    #[test]
    fn blocks_keep_their_bytes_as_they_grow_and_shrink_across_the_threshold() {
        let pattern = |i: usize| (i.wrapping_mul(31) >> 3) as u8;
        let mut bytes: Vec<u8> = Vec::new();
        // Grown a byte at a time, the vector reallocates from small to large, then large
        // to large (moved or grown in place).
        for i in 0..3 * FROM {
            bytes.push(pattern(i));
        }
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        assert_eq!(
            marked(bytes.as_ptr() as usize + FROM),
            kernel_has_huge_pages()
        );
        // Large to large, smaller; then large to small.
        bytes.truncate(FROM + 12_345);
        bytes.shrink_to_fit();
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        bytes.truncate(1000);
        bytes.shrink_to_fit();
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        assert_eq!(bytes.len(), 1000);
    }

    #[test]
    fn a_large_block_of_no_whole_number_of_huge_pages_grows_and_shrinks() {
        let mut bytes: Vec<u8> = Vec::with_capacity(FROM + 12_345);
        bytes.extend((0..FROM + 12_345).map(|i| i as u8));
        bytes.reserve_exact(3 * HUGE_PAGE + 777);
        bytes.extend((0..3 * HUGE_PAGE + 777).map(|i| (i + 1) as u8));
        bytes.truncate(FROM + 99);
        bytes.shrink_to_fit();
        assert_eq!(bytes.len(), FROM + 99);
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
    }

    #[test]
    fn large_blocks_with_large_alignment_stay_aligned_as_they_grow() {
        #[repr(align(4096))]
        struct Page([u8; 4096]);
        #[repr(align(65536))]
        struct Wide([u8; 65536]);
        let mut pages: Vec<Page> = (0..2048).map(|_| Page([1; 4096])).collect();
        pages.extend((0..3000).map(|_| Page([1; 4096])));
        assert_eq!(pages.as_ptr() as usize % 4096, 0);
        assert!(pages.iter().all(|p| p.0.iter().all(|&b| b == 1)));
        let mut wide: Vec<Wide> = (0..70).map(|_| Wide([2; 65536])).collect();
        wide.extend((0..200).map(|_| Wide([2; 65536])));
        assert_eq!(wide.as_ptr() as usize % 65536, 0);
        assert!(wide.iter().all(|w| w.0.iter().all(|&b| b == 2)));
    }
}
