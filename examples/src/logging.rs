//! Where the example servers' log lines go (`--log-format`, `--log-file`): a lossy
//! writer thread, and a plain text format that is cheap to produce on the request path.

use crate::Options;
use std::fmt;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The format of log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (`tracing_subscriber::fmt`'s default format).
    Text,
    /// One JSON object per line.
    Json,
}

/// Sets up tracing to stderr (`RUST_LOG` overrides the default `info`).
pub fn init_tracing(options: &Options) -> Result<Logging, Box<dyn std::error::Error>> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (sink, ansi): (Box<dyn std::io::Write + Send>, bool) = match &options.log_file {
        Some(path) => (
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?,
            ),
            false,
        ),
        None => (Box::new(std::io::stderr()), std::io::stderr().is_terminal()),
    };
    let (writer, guard) = log_writer(sink, LOG_BUFFER_BYTES);
    let dropped = writer.clone();
    let fmt = tracing_subscriber::fmt();
    // A subscriber installed before (by an embedding host) stays in charge: a failed
    // installation is no error.
    let _installed = match options.log_format {
        // Colours for a terminal; plain lines, cheap to format, for a file or a pipe (every
        // request writes an audit line, formatted on the request's own thread).
        LogFormat::Text if ansi => fmt
            .with_env_filter(filter)
            .with_writer(writer)
            .with_ansi(true)
            .try_init()
            .is_ok(),
        LogFormat::Text => tracing_subscriber::registry()
            .with(filter)
            .with(PlainLines::new(writer))
            .try_init()
            .is_ok(),
        LogFormat::Json => fmt
            .with_env_filter(filter)
            .with_writer(writer)
            .json()
            .try_init()
            .is_ok(),
    };
    Ok(Logging {
        _guard: guard,
        dropped,
    })
}

/// The writer every log line goes through: a background thread writes to `sink`.
///
/// A request appends its formatted line to a shared buffer (no allocation per line once the
/// buffer has grown, another thread woken at most once per batch); every
/// [`LOG_FLUSH_INTERVAL`], or as soon as [`LOG_BATCH_BYTES`] are waiting, the writer thread
/// takes the whole buffer and writes it with one call.
///
/// Lossy by choice: a sink that cannot keep up (a full disk, a stalled pipe) must never
/// stall provisioning, so once `buffered_bytes` are waiting, new lines are dropped and
/// counted ([`Logging::dropped_lines`]) instead of blocking the request that emits them.
pub fn log_writer(
    sink: Box<dyn std::io::Write + Send>,
    buffered_bytes: usize,
) -> (LogWriter, LogGuard) {
    log_writer_every(sink, buffered_bytes, LOG_FLUSH_INTERVAL)
}

/// [`log_writer`] writing out every `interval`.
fn log_writer_every(
    sink: Box<dyn std::io::Write + Send>,
    buffered_bytes: usize,
    interval: Duration,
) -> (LogWriter, LogGuard) {
    let shared = Arc::new(Shared {
        interval,
        pending: Mutex::new(Vec::new()),
        dropped: AtomicUsize::new(0),
        limit: buffered_bytes,
        stopping: AtomicBool::new(false),
        batch_ready: AtomicBool::new(false),
        wake: Condvar::new(),
    });
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("scim-log-writer".into())
            .spawn(move || shared.write_out(sink))
    };
    (
        LogWriter {
            shared: Arc::clone(&shared),
        },
        LogGuard {
            shared,
            thread: thread.ok(),
        },
    )
}

/// How often the writer thread writes out what is waiting.
pub const LOG_FLUSH_INTERVAL: Duration = Duration::from_millis(20);

/// How many waiting bytes wake the writer thread before the interval ends. Under load the
/// buffer then cycles through a few tens of kilobytes the CPU still has in its cache,
/// instead of growing through fresh memory for a whole interval: appending a line to
/// memory that is not in the cache cost a request about a quarter of a microsecond.
pub const LOG_BATCH_BYTES: usize = 64 << 10;

struct Shared {
    interval: Duration,
    pending: Mutex<Vec<u8>>,
    dropped: AtomicUsize,
    limit: usize,
    stopping: AtomicBool,
    /// Set when [`LOG_BATCH_BYTES`] are waiting and the writer has been woken for them.
    batch_ready: AtomicBool,
    /// Wakes the writer thread: to stop, or for a full batch.
    wake: Condvar,
}

impl Shared {
    /// The writer thread: every interval, for a full batch or when stopping, swaps the
    /// waiting lines out and writes them. A failing sink loses those lines (there is
    /// nowhere to report it).
    fn write_out(&self, mut sink: Box<dyn std::io::Write + Send>) {
        let mut batch = Vec::new();
        loop {
            let stopping = {
                let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                let (mut pending, _) = self
                    .wake
                    .wait_timeout_while(pending, self.interval, |pending| {
                        pending.len() < LOG_BATCH_BYTES && !self.stopping.load(Ordering::Acquire)
                    })
                    .unwrap_or_else(PoisonError::into_inner);
                std::mem::swap(&mut *pending, &mut batch);
                self.batch_ready.store(false, Ordering::Relaxed);
                self.stopping.load(Ordering::Acquire)
            };
            if !batch.is_empty() {
                let _ = sink.write_all(&batch).and_then(|()| sink.flush());
                batch.clear();
            }
            if stopping {
                return;
            }
        }
    }
}

/// The `MakeWriter` of [`log_writer`]: each line is appended to the shared buffer.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

impl LogWriter {
    /// Lines dropped so far because the writer thread could not keep up.
    pub fn dropped_lines(&self) -> usize {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Appends one line to the buffer, or counts it as dropped when the buffer is full;
    /// wakes the writer thread once a batch is waiting.
    fn append(&self, line: &[u8]) {
        let shared = &*self.shared;
        let mut pending = shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.len() + line.len() > shared.limit {
            drop(pending);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.extend_from_slice(line);
        let wake =
            pending.len() >= LOG_BATCH_BYTES && !shared.batch_ready.swap(true, Ordering::Relaxed);
        drop(pending);
        if wake {
            shared.wake.notify_one();
        }
    }
}

impl std::io::Write for LogWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Stops the writer thread when dropped, after it has written what is waiting.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How many bytes of log lines may wait for the writer thread before new lines are dropped
/// (about 100 000 audit lines).
pub const LOG_BUFFER_BYTES: usize = 32 << 20;

/// Keeps the log writer thread alive; dropping it flushes what is buffered. Hold it for
/// the life of the process.
#[must_use = "dropping Logging stops the log writer"]
pub struct Logging {
    _guard: LogGuard,
    dropped: LogWriter,
}

impl Logging {
    /// Log lines dropped so far because the writer could not keep up.
    pub fn dropped_lines(&self) -> usize {
        self.dropped.dropped_lines()
    }

    /// Reports newly dropped lines every `every` (as a `WARN` event with the running total,
    /// which reaches the log once the writer has caught up), until the runtime stops.
    pub fn report_dropped_lines(&self, every: std::time::Duration) {
        let dropped = self.dropped.clone();
        tokio::spawn(async move {
            let mut reported = 0;
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                let now = dropped.dropped_lines();
                if now > reported {
                    tracing::warn!(
                        target: "scim::log",
                        dropped_lines = now,
                        newly_dropped = now - reported,
                        "log lines were dropped: the log writer could not keep up"
                    );
                    reported = now;
                }
            }
        });
    }
}

impl Drop for Logging {
    /// Says on standard error how many lines were lost, if any.
    fn drop(&mut self) {
        let dropped = self.dropped.dropped_lines();
        if dropped > 0 {
            eprintln!(
                "scim-examples: {dropped} log line(s) were dropped because the log writer could not keep up"
            );
        }
    }
}

/// The layer that writes plain lines to a [`LogWriter`], each the line
/// `tracing_subscriber::fmt` writes by default, without colours:
/// `2026-12-04T04:44:33.087285Z  INFO scim::audit: tenant="default" subject="scim-token-1" …`
/// (`&str` fields quoted and escaped as `Debug` does, `%` fields as `Display`). Spans are
/// not shown (the example servers open none). Strings that need no escaping are copied as
/// they are, which is most of the cost of an audit line saved; the line goes straight into
/// the writer's buffer (no second buffer, no writer handle made per line).
#[derive(Clone)]
pub struct PlainLines {
    writer: LogWriter,
}

impl PlainLines {
    /// Plain lines into `writer`.
    pub fn new(writer: LogWriter) -> Self {
        Self { writer }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for PlainLines {
    fn on_event(&self, event: &Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        // The line is built in a `String` kept per thread; a line logged while another is
        // being formatted on the same thread gets a fresh one.
        thread_local! {
            static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        let write = |line: &mut String| {
            if format_line(line, event).is_ok() {
                self.writer.append(line.as_bytes());
            }
        };
        LINE.with(|buffer| match buffer.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                write(&mut line);
            }
            Err(_) => write(&mut String::new()),
        });
    }
}

/// One event as a line: timestamp, level, target, fields, newline.
fn format_line(line: &mut String, event: &Event<'_>) -> fmt::Result {
    let metadata = event.metadata();
    // The system clock as seconds and nanoseconds: a calendar date is only worked out when
    // the second changes (below), not for every line.
    let (unix, nanos) = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => (
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            since.subsec_nanos(),
        ),
        Err(_) => {
            let now = chrono::Utc::now();
            (now.timestamp(), now.timestamp_subsec_nanos())
        }
    };
    push_timestamp(line, unix, nanos)?;
    // `{:>5}` of the level, as the default format pads it.
    line.push_str(match *metadata.level() {
        tracing::Level::ERROR => " ERROR ",
        tracing::Level::WARN => "  WARN ",
        tracing::Level::INFO => "  INFO ",
        tracing::Level::DEBUG => " DEBUG ",
        tracing::Level::TRACE => " TRACE ",
    });
    line.push_str(metadata.target());
    line.push_str(": ");
    let mut fields = PlainFields {
        line,
        first: true,
        result: Ok(()),
    };
    event.record(&mut fields);
    fields.result?;
    line.push('\n');
    Ok(())
}

/// RFC 3339 in UTC with microseconds, as `tracing_subscriber`'s default timer writes it.
/// The text up to the second is formatted once per second (per thread) and reused.
fn push_timestamp(line: &mut String, unix: i64, nanos: u32) -> fmt::Result {
    thread_local! {
        /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS.`.
        static LAST: std::cell::RefCell<(Option<i64>, String)> =
            const { std::cell::RefCell::new((None, String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.try_borrow_mut().map_err(|_| fmt::Error)?;
        if last.0 != Some(unix) {
            let second = chrono::DateTime::from_timestamp(unix, 0).ok_or(fmt::Error)?;
            // Unset until the new text is complete.
            last.0 = None;
            last.1.clear();
            fmt::Write::write_fmt(
                &mut last.1,
                format_args!("{}", second.format("%Y-%m-%dT%H:%M:%S.")),
            )?;
            last.0 = Some(unix);
        }
        line.push_str(&last.1);
        Ok(())
    })?;
    // Six digits, zero-padded.
    let mut number = itoa::Buffer::new();
    let digits = number.format(nanos / 1000 % 1_000_000 + 1_000_000);
    line.push_str(digits.get(1..).ok_or(fmt::Error)?);
    line.push('Z');
    Ok(())
}

/// Writes an event's fields as `message name=value …`.
struct PlainFields<'a> {
    line: &'a mut String,
    first: bool,
    result: fmt::Result,
}

impl PlainFields<'_> {
    /// Starts a field: the separator and, but for the message, `name=`.
    fn start(&mut self, field: &Field) {
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
        if field.name() != "message" {
            self.line.push_str(field.name());
            self.line.push('=');
        }
    }
}

/// Bytes a quoted string shows as they are: printable ASCII but `"` and `\`. Anything
/// else makes the value go through `Debug`'s escaping.
const SHOWN_AS_IS: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = b' ';
    while byte <= b'~' {
        table[byte as usize] = byte != b'"' && byte != b'\\';
        byte += 1;
    }
    table
};

impl Visit for PlainFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if name == "message" {
            self.start(field);
            return self.line.push_str(value);
        }
        if value.bytes().all(|b| SHOWN_AS_IS[usize::from(b)]) {
            // Reads the same escaped or not: one reservation, then plain copies.
            self.line.reserve(name.len() + value.len() + 4);
            if !std::mem::take(&mut self.first) {
                self.line.push(' ');
            }
            self.line.push_str(name);
            self.line.push_str("=\"");
            self.line.push_str(value);
            self.line.push('"');
        } else if self.result.is_ok() {
            self.start(field);
            self.result = fmt::Write::write_fmt(self.line, format_args!("{value:?}"));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.start(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.start(field);
        self.line.push_str(itoa::Buffer::new().format(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.start(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.start(field);
        if self.result.is_ok() {
            self.result = fmt::Write::write_fmt(self.line, format_args!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LOG_BATCH_BYTES, PlainLines, log_writer, log_writer_every};
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn plain_lines_read_like_the_default_format() {
        use tracing_subscriber::layer::SubscriberExt;
        let captured = Captured::default();
        let (writer, guard) = log_writer(Box::new(captured.clone()), 1 << 20);
        let subscriber = tracing_subscriber::registry().with(PlainLines::new(writer));
        tracing::subscriber::with_default(subscriber, || {
            let label = "scim-token-1";
            tracing::info!(
                target: "scim::audit",
                tenant = "default",
                subject = %label,
                id = "a\"b\nc",
                note = "x\\é~",
                status = 201u16,
                delta = -12i64,
                ok = true,
                "created"
            );
        });
        // Dropping the guard writes out what is buffered.
        drop(guard);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let (time, rest) = text.split_once(' ').unwrap();
        assert_eq!(time.len(), "2026-12-04T04:44:33.087285Z".len(), "{text}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{text}");
        assert_eq!(
            rest,
            " INFO scim::audit: created tenant=\"default\" subject=scim-token-1 id=\"a\\\"b\\nc\" note=\"x\\\\é~\" status=201 delta=-12 ok=true\n"
        );
    }

    #[test]
    fn timestamps_and_numbers_are_written_as_the_default_format_writes_them() {
        use chrono::TimeZone;
        let at = |secs: i64, micros: u32| {
            let time = chrono::Utc.timestamp_opt(secs, micros * 1000).unwrap();
            let mut line = String::new();
            super::push_timestamp(&mut line, secs, micros * 1000).unwrap();
            assert_eq!(
                line,
                time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                "{secs}.{micros}"
            );
            line
        };
        // The same second twice (the cached prefix), the next one, another day.
        assert_eq!(at(1_796_415_064, 87_285), "2026-12-04T20:11:04.087285Z");
        assert_eq!(at(1_796_415_064, 5), "2026-12-04T20:11:04.000005Z");
        assert_eq!(at(1_796_415_065, 999_999), "2026-12-04T20:11:05.999999Z");
        at(0, 0);
        at(1_796_415_065, 0);
        // A year that does not fit the cached form.
        at(253_402_300_800, 42);
    }

    #[test]
    fn a_full_batch_is_written_without_waiting_for_the_interval() {
        let captured = Captured::default();
        let hour = Duration::from_secs(3600);
        let (mut writer, guard) = log_writer_every(Box::new(captured.clone()), 1 << 20, hour);
        let line = format!("{}\n", "x".repeat(1023));
        for _ in 0..LOG_BATCH_BYTES / line.len() - 1 {
            writer.write_all(line.as_bytes()).unwrap();
        }
        // Less than a batch waits for the interval (an hour here).
        std::thread::sleep(Duration::from_millis(100));
        assert!(captured.0.lock().unwrap().is_empty());
        writer.write_all(line.as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while captured.0.lock().unwrap().len() < LOG_BATCH_BYTES && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(captured.0.lock().unwrap().len(), LOG_BATCH_BYTES);
        drop(guard);
    }

    /// A sink that takes forever: the first write blocks until the test ends.
    struct Stalled(std::sync::mpsc::Receiver<()>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv_timeout(Duration::from_secs(30));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_log_sink_drops_lines_instead_of_blocking() {
        let (release, stalled) = std::sync::mpsc::channel();
        // Room for 8 lines of 100 KiB while the sink hangs on the first batch.
        let line = format!("{}\n", "x".repeat(100 * 1024));
        let (mut writer, guard) = log_writer(Box::new(Stalled(stalled)), 8 * line.len());
        let started = Instant::now();
        for _ in 0..200 {
            writer.write_all(line.as_bytes()).unwrap();
            // Let the writer thread take a batch now and then (and hang on it).
            if writer.dropped_lines() == 0 {
                std::thread::sleep(super::LOG_FLUSH_INTERVAL / 4);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "writing blocked"
        );
        assert!(
            writer.dropped_lines() >= 200 - 2 * 8,
            "{}",
            writer.dropped_lines()
        );
        drop(release);
        drop(guard);
    }
}
