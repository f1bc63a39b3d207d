//! Where the example servers' log lines go (`--log-format`, `--log-file`): a lossy
//! writer thread, and a plain text format that is cheap to produce on the request path.

use crate::Options;
use std::fmt;
use std::io::IsTerminal;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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
    let (writer, guard) = log_writer(sink, LOG_BUFFER_LINES);
    let dropped = writer.error_counter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match options.log_format {
        // Colours for a terminal; plain lines, cheap to format, for a file or a pipe (every
        // request writes an audit line, formatted on the request's own thread).
        LogFormat::Text if ansi => builder.with_ansi(true).try_init(),
        LogFormat::Text => builder.event_format(PlainLines).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A subscriber installed before (by an embedding host) stays in charge.
    drop(installed);
    Ok(Logging {
        _guard: guard,
        dropped,
    })
}

/// The writer every log line goes through: a background thread writes to `sink`.
///
/// Lossy by choice: a sink that cannot keep up (a full disk, a stalled pipe) must never
/// stall provisioning, so once `buffered_lines` lines are waiting, new ones are dropped and
/// counted ([`Logging::dropped_lines`]) instead of blocking the request that emits them.
pub fn log_writer(
    sink: Box<dyn std::io::Write + Send>,
    buffered_lines: usize,
) -> (
    tracing_appender::non_blocking::NonBlocking,
    tracing_appender::non_blocking::WorkerGuard,
) {
    // The writer thread drains every waiting line, then flushes: buffered, a burst of
    // audit lines costs one write(2) instead of one per line.
    let sink = std::io::BufWriter::with_capacity(64 * 1024, sink);
    tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(buffered_lines)
        .thread_name("scim-log-writer")
        .finish(sink)
}

/// How many log lines may wait for the writer thread before new ones are dropped.
pub const LOG_BUFFER_LINES: usize = 128_000;

/// Keeps the log writer thread alive; dropping it flushes what is buffered. Hold it for
/// the life of the process.
#[must_use = "dropping Logging stops the log writer"]
pub struct Logging {
    _guard: tracing_appender::non_blocking::WorkerGuard,
    dropped: tracing_appender::non_blocking::ErrorCounter,
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

/// The line `tracing_subscriber::fmt` writes by default, without colours:
/// `2026-12-04T04:44:33.087285Z  INFO scim::audit: tenant="default" subject=scim-token-1 …`
/// (`&str` fields quoted and escaped as `Debug` does, `%` fields as `Display`). Spans are
/// not shown (the example servers open none). Strings that need no escaping are copied as
/// they are, which is most of the cost of an audit line saved.
#[derive(Debug, Clone, Copy)]
pub struct PlainLines;

impl<S, N> FormatEvent<S, N> for PlainLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        write_timestamp(&mut writer, chrono::Utc::now())?;
        write!(writer, " {:>5} {}: ", metadata.level(), metadata.target())?;
        let mut fields = PlainFields {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// RFC 3339 in UTC with microseconds, as `tracing_subscriber`'s default timer writes it.
fn write_timestamp(writer: &mut Writer<'_>, now: chrono::DateTime<chrono::Utc>) -> fmt::Result {
    use chrono::{Datelike, Timelike};
    write!(
        writer,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        now.year(),
        now.month(),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.nanosecond() / 1000 % 1_000_000
    )
}

/// Writes an event's fields as `message name=value …`.
struct PlainFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl PlainFields<'_, '_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.writer.write_char(' ')?;
            }
            if field.name() != "message" {
                self.writer.write_str(field.name())?;
                self.writer.write_char('=')?;
            }
            value(self.writer)
        })();
    }
}

impl Visit for PlainFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            return self.field(field, |w| w.write_str(value));
        }
        self.field(field, |w| {
            // Printable ASCII without a quote or backslash reads the same escaped or not.
            if value
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
            {
                w.write_char('"')?;
                w.write_str(value)?;
                w.write_char('"')
            } else {
                write!(w, "{value:?}")
            }
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| write!(w, "{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::{PlainLines, log_writer};
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
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(PlainLines)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let label = "scim-token-1";
            tracing::info!(
                target: "scim::audit",
                tenant = "default",
                subject = %label,
                id = "a\"b\nc",
                status = 201u16,
                ok = true,
                "created"
            );
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let (time, rest) = text.split_once(' ').unwrap();
        assert_eq!(time.len(), "2026-12-04T04:44:33.087285Z".len(), "{text}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{text}");
        assert_eq!(
            rest,
            " INFO scim::audit: created tenant=\"default\" subject=scim-token-1 id=\"a\\\"b\\nc\" status=201 ok=true\n"
        );
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
        let (mut writer, guard) = log_writer(Box::new(Stalled(stalled)), 8);
        let counter = writer.error_counter();
        // Lines larger than the writer's buffer reach the stalled sink at once.
        let line = format!("{}\n", "x".repeat(100 * 1024));
        let started = Instant::now();
        for _ in 0..200 {
            writer.write_all(line.as_bytes()).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "writing blocked"
        );
        assert!(
            counter.dropped_lines() >= 200 - 8 - 2,
            "{}",
            counter.dropped_lines()
        );
        drop(release);
        drop(guard);
    }
}
