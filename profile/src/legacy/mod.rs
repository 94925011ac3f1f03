//! The legacy profile formats that `go tool pprof` still reads, decoded into the crate's
//! protobuf model with the sample types, units and values pprof gives them: the
//! gperftools and Java binary CPU formats, heap, growth and fragmentation text (Go's
//! `debug=1` and gperftools), contention text (Go's mutex and block `debug=1`,
//! gperftools, Java), Go's goroutine and threadcreate counts, and threadz dumps.
//!
//! Each decoder returns [`Outcome::Unrecognized`] when the bytes are not in its format,
//! so that the next one can try, as pprof tries them in turn.

mod addresses;
mod builder;
mod contention;
mod count;
mod cpu;
mod heap;
mod java;
mod maps;
pub(crate) mod text;
mod thread;

use std::fmt;

use crate::proto;
use crate::samples::Samples;
use crate::strings::StringTable;
use crate::unsymbolized::Unsymbolized;

pub(crate) use builder::Builder;

/// A legacy format, as named in messages and in `save`'s report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyFormat {
    /// gperftools' binary CPU profile (`CPUPROFILE=`).
    CpuBinary {
        word_bytes: u8,
        big_endian: bool,
    },
    /// The binary CPU format written by Java profilers, followed by symbols.
    JavaCpu {
        word_bytes: u8,
        big_endian: bool,
    },
    /// `heap profile: ... @ heap/RATE`: Go's `debug=1` heap and allocs text.
    GoHeap,
    /// gperftools' sampled heap text (`@ heap_v2/RATE`).
    HeapV2,
    /// gperftools' heap profiler text (`@ heapprofile`), every allocation recorded.
    HeapProfile,
    /// `@ growthz`: stacks that grew the heap.
    Growth,
    /// `@ fragmentationz`.
    Fragmentation,
    /// Go's `debug=1` mutex text (`--- mutex:`).
    GoMutex,
    /// Go's `debug=1` block text, and gperftools' (`--- contention:`).
    Contention,
    /// The C++ `--- contentionz ` text.
    Contentionz,
    /// `NAME profile: total N`: Go's `debug=1` goroutine and threadcreate text.
    GoCount,
    /// `--- threadz` thread stack dumps.
    Threadz,
    JavaHeapz,
    JavaContentionz,
}

impl fmt::Display for LegacyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = |word_bytes: &u8, big_endian: &bool| {
            format!(
                "{}-bit {}-endian",
                word_bytes * 8,
                if *big_endian { "big" } else { "little" }
            )
        };
        match self {
            LegacyFormat::CpuBinary {
                word_bytes,
                big_endian,
            } => write!(
                f,
                "legacy binary CPU profile (gperftools, {})",
                layout(word_bytes, big_endian)
            ),
            LegacyFormat::JavaCpu {
                word_bytes,
                big_endian,
            } => write!(
                f,
                "legacy Java CPU profile ({})",
                layout(word_bytes, big_endian)
            ),
            LegacyFormat::GoHeap => f.write_str("legacy Go heap text profile (debug=1)"),
            LegacyFormat::HeapV2 => f.write_str("legacy heap text profile (heap_v2, gperftools)"),
            LegacyFormat::HeapProfile => {
                f.write_str("legacy heap text profile (heapprofile, gperftools)")
            }
            LegacyFormat::Growth => f.write_str("legacy heap growth text profile"),
            LegacyFormat::Fragmentation => f.write_str("legacy heap fragmentation text profile"),
            LegacyFormat::GoMutex => f.write_str("legacy Go mutex text profile (debug=1)"),
            LegacyFormat::Contention => f.write_str("legacy contention text profile"),
            LegacyFormat::Contentionz => f.write_str("legacy contentionz text profile"),
            LegacyFormat::GoCount => f.write_str("legacy Go count text profile (debug=1)"),
            LegacyFormat::Threadz => f.write_str("legacy threadz text profile"),
            LegacyFormat::JavaHeapz => f.write_str("legacy Java heapz profile"),
            LegacyFormat::JavaContentionz => f.write_str("legacy Java contentionz profile"),
        }
    }
}

/// What one decoder made of the bytes.
pub(crate) enum Outcome {
    /// Not this format: let the next decoder try.
    Unrecognized,
    /// This format, but broken.
    Malformed(LegacyFormat, String),
    Decoded(LegacyFormat, Box<(proto::Profile, StringTable, Samples)>),
}

impl Outcome {
    fn decoded(format: LegacyFormat, mut builder: Builder) -> Outcome {
        match builder.refused.take() {
            Some(refusal) => Outcome::Malformed(format, refusal),
            None => Outcome::Decoded(format, Box::new(builder.into_proto())),
        }
    }
}

/// One legacy format's decoder.
type Decoder<'a> = dyn Fn(&[u8]) -> Outcome + 'a;

/// Decodes `bytes` (already gunzipped) with each legacy decoder in pprof's order.
/// `unsymbolized` says what the profile must keep of frames without symbols.
pub(crate) fn decode(bytes: &[u8], unsymbolized: Unsymbolized) -> Outcome {
    let cpu = |bytes: &[u8]| cpu::decode(bytes, unsymbolized);
    let decoders: [&Decoder<'_>; 6] = [
        &cpu,
        &heap::decode,
        &count::decode,
        &thread::decode,
        &contention::decode,
        &java::decode,
    ];
    for decoder in decoders {
        match decoder(bytes) {
            Outcome::Unrecognized => continue,
            found => return found,
        }
    }
    Outcome::Unrecognized
}

/// The frames that pprof hides in legacy profiles: allocator frames in heap profiles,
/// lock internals in contention profiles, the profiler's signal handler in CPU ones.
pub(crate) mod frames {
    pub(crate) const ALLOCATORS: &str = concat!(
        "calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|pvalloc|valloc|",
        "realloc|tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|tc_free|tc_memalign|",
        "tc_posix_memalign|tc_pvalloc|tc_valloc|tc_realloc|tc_new|tc_delete|tc_newarray|",
        "tc_deletearray|tc_new_nothrow|tc_newarray_nothrow|malloc_zone_malloc|",
        "malloc_zone_calloc|malloc_zone_valloc|malloc_zone_realloc|malloc_zone_memalign|",
        "malloc_zone_free|runtime\\..*|BaseArena::.*|(::)?do_malloc_no_errno|",
        "(::)?do_malloc_pages|(::)?do_malloc|DoSampledAllocation|",
        "MallocedMemBlock::MallocedMemBlock|_M_allocate|__builtin_(vec_)?delete|",
        "__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|__libc_malloc|",
        "__malloc_alloc_template::allocate|allocate|cpp_alloc|operator new(\\[\\])?|",
        "simple_alloc::allocate"
    );
    /// Go runtime frames kept even though `runtime\..*` matches them.
    pub(crate) const ALLOCATORS_KEEP: &str =
        "runtime\\.panic|runtime\\.reflectcall|runtime\\.call[0-9]*";
    pub(crate) const LOCKS: &str = concat!(
        "RecordLockProfileData|(base::)?RecordLockProfileData.*|",
        "(base::)?SubmitMutexProfileData.*|(base::)?SubmitSpinLockProfileData.*|",
        "(base::Mutex::)?AwaitCommon.*|(base::Mutex::)?Unlock.*|(base::Mutex::)?UnlockSlow.*|",
        "(base::Mutex::)?ReaderUnlock.*|(base::MutexLock::)?~MutexLock.*|",
        "(Mutex::)?AwaitCommon.*|(Mutex::)?Unlock.*|(Mutex::)?UnlockSlow.*|",
        "(Mutex::)?ReaderUnlock.*|(MutexLock::)?~MutexLock.*|(SpinLock::)?Unlock.*|",
        "(SpinLock::)?SlowUnlock.*|(SpinLockHolder::)?~SpinLockHolder.*"
    );
    pub(crate) const CPU_PROFILER: &str = "ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|__pthread_sighandler|__restore";
}
