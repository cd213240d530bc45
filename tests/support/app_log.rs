//! The in-process application's log, shown when a test fails and kept quiet otherwise.
//!
//! The first [`crate::TestApp`] of a test binary installs a global `tracing` subscriber that
//! writes every event (`RUST_LOG`, else the app's default filter) as a line into a buffer in
//! memory. Each app holds a [`LogGuard`] marking where its log starts; when the guard is
//! dropped while the test panics, it prints the lines since that mark to the test's output
//! (libtest shows that output only for failing tests).
//!
//! `tracing` has one global subscriber per process, and the tests of one binary run in
//! parallel threads, so the printed lines can include those of other tests running at the
//! same time. `cargo test --test <file> <test> -- --test-threads=1` gives one test's log alone.

use std::{
    collections::VecDeque,
    io::Write,
    sync::{Mutex, OnceLock},
};

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// At most this many lines are kept; the oldest go first.
const MAX_LINES: usize = 100_000;

struct Buffer {
    /// The sequence number of `lines[0]`.
    first: u64,
    lines: VecDeque<String>,
    /// An unfinished line (the formatter may write a line in pieces).
    partial: Vec<u8>,
}

static BUFFER: Mutex<Buffer> = Mutex::new(Buffer {
    first: 0,
    lines: VecDeque::new(),
    partial: Vec::new(),
});
static INSTALLED: OnceLock<()> = OnceLock::new();

fn buffer() -> std::sync::MutexGuard<'static, Buffer> {
    BUFFER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Writer;

impl Write for Writer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut b = buffer();
        b.partial.extend_from_slice(bytes);
        while let Some(end) = b.partial.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = b.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]).into_owned();
            b.lines.push_back(text);
            if b.lines.len() > MAX_LINES {
                b.lines.pop_front();
                b.first += 1;
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once per process (a no-op when another is installed).
pub fn install() {
    INSTALLED.get_or_init(|| {
        let filter = EnvFilter::try_from_env("RUST_LOG")
            .unwrap_or_else(|_| EnvFilter::new(relivchats::telemetry::DEFAULT_FILTER));
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_thread_names(true)
                    .with_writer(|| Writer),
            )
            .try_init();
    });
}

/// Prints the log since it was made when it is dropped during a panic.
pub struct LogGuard {
    from: u64,
    label: String,
}

impl LogGuard {
    /// Installs the subscriber and marks the current end of the log.
    pub fn start(label: impl Into<String>) -> Self {
        install();
        let b = buffer();
        Self {
            from: b.first + b.lines.len() as u64,
            label: label.into(),
        }
    }

    /// The lines logged since the guard was made.
    pub fn lines(&self) -> Vec<String> {
        let b = buffer();
        let skip = self.from.saturating_sub(b.first) as usize;
        b.lines.iter().skip(skip).cloned().collect()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let lines = self.lines();
        // `eprintln!` from the test's thread goes into libtest's captured output.
        eprintln!(
            "\n---- the app's log ({}, {} lines; other tests of this binary running at the same time may be interleaved) ----",
            self.label,
            lines.len()
        );
        for line in &lines {
            eprintln!("{line}");
        }
        eprintln!("---- end of the app's log ----");
    }
}
