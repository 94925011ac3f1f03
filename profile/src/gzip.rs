//! Gzip, the way profiles travel: Go serves them gzipped, and pprof unzips one layer. A
//! large profile is unzipped on one thread while another reads what has come out so far,
//! so that reading costs little more than unzipping.

use std::io::Read as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crate::error::{Error, Origin, Result};
use crate::parallel;

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// How much is unzipped before the reader is shown it: small enough that the reader
/// starts early and ends soon after the unzipping, large enough that handing over costs
/// nothing to speak of.
const CHUNK: usize = 64 << 10;

/// Unzips gzipped `bytes` on this thread while `read` is shown, on another, all the bytes
/// unzipped so far each time more come out. Returns them all once unzipped, without
/// waiting for `read` to see the last: what it has not read yet is then best read while
/// the rest of the profile is decoded.
pub(crate) fn gunzip_while_reading(
    bytes: &[u8],
    origin: &Origin,
    mut read: impl FnMut(&[u8]) + Send,
) -> Result<Vec<u8>> {
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    // Set once all is unzipped: the reader then stops, and leaves the rest unread.
    let all_out = &AtomicBool::new(false);
    // Unzipping never waits for the reader, so that the two may also run one after the
    // other, when the system refuses a thread.
    let unzip = move || -> std::io::Result<()> {
        let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            if (&mut decoder).take(CHUNK as u64).read_to_end(&mut chunk)? == 0 {
                all_out.store(true, Ordering::Release);
                return Ok(());
            }
            // The reader takes every chunk until this side hangs up.
            let _ = sender.send(chunk);
        }
    };
    let collect = move || {
        let mut data = Vec::with_capacity(gzip_size_hint(bytes));
        for chunk in &receiver {
            data.extend_from_slice(&chunk);
            if all_out.load(Ordering::Acquire) {
                // The last chunks are sent already, and this side hangs up next.
                for chunk in &receiver {
                    data.extend_from_slice(&chunk);
                }
                break;
            }
            read(&data);
        }
        data
    };
    let (data, unzipped) = parallel::join(collect, unzip);
    match unzipped {
        Ok(()) => Ok(data),
        Err(source) => Err(Error::Gzip {
            origin: origin.clone(),
            truncated: source.kind() == std::io::ErrorKind::UnexpectedEof,
            source,
        }),
    }
}

/// The uncompressed size a gzip stream announces in its trailer, capped so that a
/// corrupt trailer cannot make us reserve gigabytes.
pub(crate) fn gzip_size_hint(bytes: &[u8]) -> usize {
    let Some(tail) = bytes.len().checked_sub(4).map(|at| &bytes[at..]) else {
        return 0;
    };
    let announced = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
    announced.min(bytes.len().saturating_mul(32)).min(1 << 30)
}

/// `bytes` gzipped, unless they already are (Go serves profiles gzipped).
pub fn gzipped(bytes: Vec<u8>) -> Vec<u8> {
    if is_gzip(&bytes) {
        return bytes;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match std::io::Write::write_all(&mut encoder, &bytes).and_then(|()| encoder.finish()) {
        Ok(out) => out,
        // Writing to memory cannot fail; keep the profile as it came if it somehow did.
        Err(_) => bytes,
    }
}
