//! Gzip, the way profiles travel: Go serves them gzipped, and pprof unzips one layer. A
//! large profile is unzipped on one thread while another reads what has come out so far,
//! so that reading costs little more than unzipping.

use std::marker::PhantomData;
use std::ops::Range;
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
/// unzipped so far each time more come out, or again when it says it has more to read in
/// them. Returns them all once unzipped, without waiting for `read` to see the last: what
/// it has not read yet is then best read while the rest of the profile is decoded.
pub(crate) fn gunzip_while_reading(
    bytes: &[u8],
    origin: &Origin,
    mut read: impl FnMut(&[u8]) -> bool + Send,
) -> Result<Vec<u8>> {
    // The bytes are unzipped straight into the buffer the reader reads, at the size the
    // trailer announces; what comes out beyond it is kept apart and added at the end.
    let mut data = vec![0; gzip_size_hint(bytes)];
    let buffer = &FillingBuffer::new(&mut data);
    // How many bytes are filled, each time more are.
    let (sender, receiver) = mpsc::channel::<usize>();
    // Set once all is unzipped: the reader then stops, and leaves the rest unread.
    let all_out = &AtomicBool::new(false);
    // Unzipping never waits for the reader, so that the two may also run one after the
    // other, when the system refuses a thread.
    let unzip = move || -> std::io::Result<(usize, Vec<u8>)> {
        let mut decoder = flate2::read::MultiGzDecoder::new(bytes);
        let mut filled = 0;
        while filled < buffer.len {
            let end = buffer.len.min(filled + CHUNK);
            // SAFETY: the reader reads only the bytes before `filled`.
            let came = fill(&mut decoder, unsafe { buffer.unfilled(filled..end) })?;
            filled += came;
            // The reader takes every count until this side hangs up.
            let _ = sender.send(filled);
            if filled < end {
                break;
            }
        }
        let mut beyond = Vec::new();
        std::io::Read::read_to_end(&mut decoder, &mut beyond)?;
        all_out.store(true, Ordering::Release);
        Ok((filled, beyond))
    };
    let collect = move || {
        let (mut filled, mut behind) = (0, false);
        loop {
            if !behind {
                match receiver.recv() {
                    Ok(count) => filled = count,
                    Err(_) => break,
                }
            }
            filled = receiver.try_iter().last().unwrap_or(filled);
            if all_out.load(Ordering::Acquire) {
                break;
            }
            // SAFETY: the unzipping writes only after the bytes it has counted as filled.
            behind = read(unsafe { buffer.filled(filled) });
        }
    };
    match parallel::join(collect, unzip).1 {
        Ok((filled, beyond)) => {
            data.truncate(filled);
            data.extend_from_slice(&beyond);
            Ok(data)
        }
        Err(source) => Err(Error::Gzip {
            origin: origin.clone(),
            truncated: source.kind() == std::io::ErrorKind::UnexpectedEof,
            source,
        }),
    }
}

/// A buffer that one thread fills from the front while another reads the part filled so
/// far, without copying it out.
struct FillingBuffer<'a> {
    start: *mut u8,
    len: usize,
    _data: PhantomData<&'a mut [u8]>,
}

// SAFETY: the buffer is borrowed mutably for 'a, so only its users reach it, and they
// promise, at each access, not to touch the same bytes at once.
unsafe impl Send for FillingBuffer<'_> {}
// SAFETY: as for `Send`.
unsafe impl Sync for FillingBuffer<'_> {}

impl<'a> FillingBuffer<'a> {
    fn new(data: &'a mut [u8]) -> Self {
        FillingBuffer {
            start: data.as_mut_ptr(),
            len: data.len(),
            _data: PhantomData,
        }
    }

    /// The bytes in `range`, to be written.
    ///
    /// # Safety
    /// No other slice of the buffer that overlaps `range` may be used while this one is.
    #[allow(clippy::mut_from_ref)]
    unsafe fn unfilled(&self, range: Range<usize>) -> &mut [u8] {
        assert!(range.start <= range.end && range.end <= self.len);
        // SAFETY: the range lies inside the buffer, and the caller keeps it to itself.
        unsafe { std::slice::from_raw_parts_mut(self.start.add(range.start), range.len()) }
    }

    /// The first `filled` bytes, to be read.
    ///
    /// # Safety
    /// No slice of them may be written while this one is used.
    unsafe fn filled(&self, filled: usize) -> &[u8] {
        assert!(filled <= self.len);
        // SAFETY: the bytes lie inside the buffer, and the caller has them written no more.
        unsafe { std::slice::from_raw_parts(self.start, filled) }
    }
}

/// Fills `chunk` from `decoder` unless the stream ends first, and returns how many bytes
/// it filled.
fn fill(decoder: &mut impl std::io::Read, chunk: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < chunk.len() {
        match decoder.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(came) => filled += came,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// Bytes that do not compress well, so that the size a trailer announces is
    /// believed.
    fn varied(len: usize) -> Vec<u8> {
        let mut state = 1u64;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Unzips `gzipped`, and checks that the reader was shown only beginnings of the
    /// bytes returned.
    fn unzipped(gzipped: &[u8]) -> Vec<u8> {
        let mut shown = Vec::new();
        let data = gunzip_while_reading(gzipped, &Origin::Stdin, |so_far| {
            shown.push(so_far.to_vec());
            false
        })
        .unwrap();
        for so_far in shown {
            assert_eq!(so_far, data[..so_far.len()]);
        }
        data
    }

    #[test]
    fn bytes_beyond_or_short_of_the_announced_size_are_all_returned() {
        let whole = varied(1_000_000);
        let one = gzip(&whole);
        assert_eq!(gzip_size_hint(&one), whole.len());
        assert_eq!(unzipped(&one), whole);
        // Two members: the trailer announces only the last one's size.
        let mut two = gzip(&whole[..900_000]);
        two.extend(gzip(&whole[900_000..]));
        assert_eq!(gzip_size_hint(&two), 100_000);
        assert_eq!(unzipped(&two), whole);
        // A trailer announcing more than there is, or nothing.
        for announced in [2_000_000u32, 0] {
            let mut wrong = one.clone();
            let at = wrong.len() - 4;
            wrong[at..].copy_from_slice(&announced.to_le_bytes());
            let error = gunzip_while_reading(&wrong, &Origin::Stdin, |_| false).unwrap_err();
            assert!(matches!(error, Error::Gzip { .. }), "{error}");
        }
    }

    #[test]
    fn a_reader_behind_is_shown_the_same_bytes_again() {
        let whole = varied(300_000);
        let mut calls = 0;
        let data = gunzip_while_reading(&gzip(&whole), &Origin::Stdin, |_| {
            calls += 1;
            // Behind for the first few calls.
            calls < 5
        })
        .unwrap();
        assert_eq!(data, whole);
    }
}
