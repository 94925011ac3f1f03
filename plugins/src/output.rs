//! A plugin's stdout or stderr: every write goes straight to the caller's sink (so
//! output streams as it is produced, never buffered to the end) until the byte cap;
//! the write that crosses the cap delivers what fits and then ends the plugin with a
//! [`LimitBreach`].

use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

use crate::limits::{LimitBreach, LimitExceeded};

/// Where a plugin's output goes: any writer, e.g. `std::io::stdout()`, a `Vec<u8>`
/// behind a mutex, or a log forwarder.
pub type Sink = Box<dyn Write + Send>;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// One stream's state, shared by every handle wasmtime-wasi opens on it.
///
/// A write to the sink can block for as long as whoever reads gantry's output does
/// not read (a pipe into a stopped pager). That happens on the plugin's thread, holding
/// the stream's lock; the host's thread never takes that lock, so the deadline and
/// interruptions still end the run, and [`CappedOutput::close`] is a flag.
#[derive(Clone)]
pub(crate) struct CappedOutput {
    shared: Arc<Mutex<Shared>>,
    /// Set when the host stops waiting for the plugin: later writes trap instead of
    /// reaching a caller that has moved on.
    closed: Arc<AtomicBool>,
    is_terminal: bool,
}

struct Shared {
    sink: Sink,
    written: u64,
    limit: u64,
    stream: Stream,
}

impl CappedOutput {
    pub(crate) fn new(sink: Sink, limit: u64, stream: Stream, is_terminal: bool) -> Self {
        CappedOutput {
            shared: Arc::new(Mutex::new(Shared {
                sink,
                written: 0,
                limit,
                stream,
            })),
            closed: Arc::new(AtomicBool::new(false)),
            is_terminal,
        }
    }

    /// Stops delivering output; the plugin's next write traps. Never blocks.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock can only come from the sink; the counters are
        // still consistent, so keep going.
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_capped(&self, buf: &[u8]) -> StreamResult<()> {
        let mut shared = self.lock();
        if self.closed.load(Ordering::SeqCst) {
            return Err(StreamError::Trap(wasmtime::format_err!(
                "the host stopped reading the plugin's output"
            )));
        }
        let room = shared.limit.saturating_sub(shared.written);
        let fits = usize::try_from(room).map_or(buf.len(), |room| room.min(buf.len()));
        let io = |e: std::io::Error| StreamError::LastOperationFailed(wasmtime::Error::new(e));
        shared.sink.write_all(&buf[..fits]).map_err(io)?;
        shared.sink.flush().map_err(io)?;
        shared.written += fits as u64;
        if fits < buf.len() {
            let breach = match shared.stream {
                Stream::Stdout => LimitBreach::Stdout {
                    limit_bytes: shared.limit,
                },
                Stream::Stderr => LimitBreach::Stderr {
                    limit_bytes: shared.limit,
                },
            };
            return Err(StreamError::Trap(wasmtime::Error::new(LimitExceeded(
                breach,
            ))));
        }
        Ok(())
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        self.is_terminal
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_capped(&bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Writes are synchronous and flushed, so there is always room; the cap is
        // enforced in `write`, where the breach can be reported.
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(match self.write_capped(buf) {
            Ok(()) => Ok(buf.len()),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A sink that collects into shared memory; for hook stdout and for tests.
#[derive(Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub fn new() -> Self {
        SharedBuffer::default()
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_up_to_the_cap_then_reports_the_breach() {
        let buf = SharedBuffer::new();
        let mut out = CappedOutput::new(Box::new(buf.clone()), 10, Stream::Stdout, false);
        out.write(Bytes::from_static(b"hello")).unwrap();
        assert_eq!(buf.contents(), b"hello");
        let err = out.write(Bytes::from_static(b" world!")).unwrap_err();
        assert_eq!(buf.contents(), b"hello worl");
        let StreamError::Trap(err) = err else {
            panic!("expected a trap, got {err:?}")
        };
        assert_eq!(
            err.downcast_ref::<LimitExceeded>().map(|e| &e.0),
            Some(&LimitBreach::Stdout { limit_bytes: 10 })
        );
    }

    /// A sink that blocks until told to go on, like a pipe nobody reads.
    struct Stuck(std::sync::mpsc::Receiver<()>);

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn closing_does_not_wait_for_a_blocked_write() {
        let (go_on, stuck) = std::sync::mpsc::channel();
        let out = CappedOutput::new(Box::new(Stuck(stuck)), 1 << 20, Stream::Stdout, false);
        let mut writer = out.clone();
        let blocked = std::thread::spawn(move || writer.write(Bytes::from_static(b"x")));
        std::thread::sleep(std::time::Duration::from_millis(100));
        let (closed, close_returned) = std::sync::mpsc::channel();
        let closer = out.clone();
        std::thread::spawn(move || {
            closer.close();
            let _ = closed.send(());
        });
        let finished = close_returned.recv_timeout(std::time::Duration::from_secs(2));
        go_on.send(()).unwrap();
        blocked.join().unwrap().unwrap();
        assert!(finished.is_ok(), "close waited for the blocked write");
        assert!(out.clone().write(Bytes::from_static(b"y")).is_err());
    }

    #[test]
    fn closed_streams_refuse_writes() {
        let buf = SharedBuffer::new();
        let mut out = CappedOutput::new(Box::new(buf.clone()), 10, Stream::Stderr, false);
        out.close();
        assert!(out.write(Bytes::from_static(b"x")).is_err());
        assert!(buf.contents().is_empty());
    }
}
