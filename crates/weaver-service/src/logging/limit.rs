//! Repeated warnings, rate-limited: a layer that lets the first [`BURST`] warnings and errors of
//! one site through per [`WINDOW`], drops the rest, and says so in two lines of its own: one at
//! the first dropped event ("suppressing ..."), and one at the first event of the site after the
//! window ("suppressed K similar warnings"). A watcher stuck on a flapping file then writes a
//! few lines per window instead of thousands per second.
//!
//! A site is an event's callsite (its `warn!`/`error!` in the source); the events the `log`
//! bridge forwards (dependencies such as rustls and notify) share one callsite per level, so
//! theirs are told apart by the `log.target`, `log.file` and `log.line` they carry. The set of
//! sites is therefore bounded by the code, not by the input, and nothing is ever evicted.
//!
//! The decision is made in [`Layer::event_enabled`], so a dropped event reaches no layer (not
//! the log output, not the trace exporter) and is never formatted. Events below `WARN` pass
//! untouched after one comparison; a warning costs one short lock.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::{Field, Value, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_core::callsite::{Callsite, Identifier};
use tracing_core::dispatcher::{Dispatch, WeakDispatch};
use tracing_core::field::FieldSet;
use tracing_core::metadata::Kind;
use tracing_core::subscriber::Interest;
use tracing_subscriber::layer::{Context, Layer};

/// Events of one site let through per window.
pub const BURST: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(10);

/// The target of the limiter's own lines.
const TARGET: &str = "weaver::logging";
const FIELDS: &[&str] = &["message", "suppressed", "site"];

/// The callsite of the limiter's own lines, one per level it limits.
struct Own(&'static Metadata<'static>);

impl Callsite for Own {
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        self.0
    }
}

static WARN_SITE: Own = Own(&WARN_META);
static WARN_META: Metadata<'static> = Metadata::new(
    "suppressed warnings",
    TARGET,
    Level::WARN,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(FIELDS, Identifier(&WARN_SITE)),
    Kind::EVENT,
);
static ERROR_SITE: Own = Own(&ERROR_META);
static ERROR_META: Metadata<'static> = Metadata::new(
    "suppressed errors",
    TARGET,
    Level::ERROR,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(FIELDS, Identifier(&ERROR_SITE)),
    Kind::EVENT,
);

/// The limiter; see the module documentation.
pub struct RateLimit {
    burst: u32,
    window: Duration,
    clock: Box<dyn Fn() -> Instant + Send + Sync>,
    sites: Mutex<HashMap<Key, Window>>,
    /// The subscriber this layer is part of, to send its own lines through (weak: the
    /// subscriber owns the layer).
    dispatch: OnceLock<WeakDispatch>,
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("burst", &self.burst)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// A site: its callsite and, for events from the `log` bridge, a hash of the log record's
/// target, file and line.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Key {
    callsite: Identifier,
    record: u64,
}

/// One site's current window.
#[derive(Debug)]
struct Window {
    started: Instant,
    seen: u32,
    suppressed: u64,
}

/// What to say besides the event itself.
enum Note {
    /// The previous window of the site dropped this many events.
    Suppressed(u64, Duration),
    /// This is the first event dropped in the window.
    Suppressing,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::new(BURST, WINDOW)
    }
}

impl RateLimit {
    /// `burst` events per site and `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        Self::with_clock(burst, window, Instant::now)
    }

    /// The same, with a clock of the caller's (tests move time by hand).
    pub fn with_clock(
        burst: u32,
        window: Duration,
        clock: impl Fn() -> Instant + Send + Sync + 'static,
    ) -> Self {
        Self {
            burst,
            window,
            clock: Box::new(clock),
            sites: Mutex::new(HashMap::new()),
            dispatch: OnceLock::new(),
        }
    }

    /// Counts `event` against its site: whether it passes, and what to say about the site.
    fn admit(&self, event: &Event<'_>) -> (bool, Option<Note>) {
        let metadata = event.metadata();
        let record = if metadata.fields().field("log.target").is_some() {
            let mut record = Record::default();
            event.record(&mut record);
            record.0.finish()
        } else {
            0
        };
        let key = Key {
            callsite: metadata.callsite(),
            record,
        };
        let now = (self.clock)();
        let mut sites = self.sites.lock().unwrap_or_else(PoisonError::into_inner);
        let window = sites.entry(key).or_insert(Window {
            started: now,
            seen: 0,
            suppressed: 0,
        });
        let mut note = None;
        let elapsed = now.saturating_duration_since(window.started);
        if elapsed >= self.window {
            if window.suppressed > 0 {
                note = Some(Note::Suppressed(window.suppressed, elapsed));
            }
            *window = Window {
                started: now,
                seen: 0,
                suppressed: 0,
            };
        }
        window.seen = window.seen.saturating_add(1);
        if window.seen <= self.burst {
            return (true, note);
        }
        window.suppressed += 1;
        (false, (window.suppressed == 1).then_some(Note::Suppressing))
    }

    /// Sends the limiter's line about the site of `event` through the whole subscriber.
    fn say(&self, event: &Event<'_>, note: &Note) {
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let about = event.metadata();
        let metadata: &'static Metadata<'static> = if *about.level() == Level::ERROR {
            &ERROR_META
        } else {
            &WARN_META
        };
        if !dispatch.enabled(metadata) {
            return;
        }
        let site = site(event);
        let kind = if *about.level() == Level::ERROR {
            "errors"
        } else {
            "warnings"
        };
        let (message, suppressed) = match note {
            Note::Suppressed(count, elapsed) => (
                format!(
                    "suppressed {count} similar {kind} in the last {} s",
                    elapsed.as_secs()
                ),
                Some(*count),
            ),
            Note::Suppressing => (
                format!(
                    "more than {} {kind} from one site in {} s: suppressing the rest of them",
                    self.burst,
                    self.window.as_secs()
                ),
                None,
            ),
        };
        send(&dispatch, metadata, &message, suppressed, &site);
    }
}

/// Sends one line of the limiter's (`metadata` is one of its own) through `dispatch`.
fn send(
    dispatch: &Dispatch,
    metadata: &'static Metadata<'static>,
    message: &str,
    suppressed: Option<u64>,
    site: &str,
) {
    let fields = metadata.fields();
    let (Some(message_field), Some(suppressed_field), Some(site_field)) = (
        fields.field("message"),
        fields.field("suppressed"),
        fields.field("site"),
    ) else {
        return;
    };
    let values: [(&Field, Option<&dyn Value>); 3] = [
        (&message_field, Some(&message)),
        (
            &suppressed_field,
            suppressed.as_ref().map(|n| n as &dyn Value),
        ),
        (&site_field, Some(&site)),
    ];
    let values = fields.value_set(&values);
    dispatch.event(&Event::new(metadata, &values));
}

/// `target (file:line)` of an event, as the source or the `log` record names it.
fn site(event: &Event<'_>) -> String {
    let metadata = event.metadata();
    let mut record = Described::default();
    if metadata.fields().field("log.target").is_some() {
        event.record(&mut record);
    }
    let target = record.target.as_deref().unwrap_or(metadata.target());
    let file = record.file.as_deref().or(metadata.file()).unwrap_or("?");
    match record.line.or(metadata.line().map(u64::from)) {
        Some(line) => format!("{target} ({file}:{line})"),
        None => format!("{target} ({file})"),
    }
}

/// Hashes the fields that name a `log` record's site.
#[derive(Default)]
struct Record(DefaultHasher);

impl Visit for Record {
    fn record_str(&mut self, field: &Field, value: &str) {
        if matches!(field.name(), "log.target" | "log.file") {
            field.name().hash(&mut self.0);
            value.hash(&mut self.0);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "log.line" {
            value.hash(&mut self.0);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// The fields that name a `log` record's site.
#[derive(Default)]
struct Described {
    target: Option<String>,
    file: Option<String>,
    line: Option<u64>,
}

impl Visit for Described {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "log.target" => self.target = Some(value.to_owned()),
            "log.file" => self.file = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "log.line" {
            self.line = Some(value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

fn is_own(metadata: &Metadata<'_>) -> bool {
    let callsite = metadata.callsite();
    callsite == Identifier(&WARN_SITE) || callsite == Identifier(&ERROR_SITE)
}

impl<S: Subscriber> Layer<S> for RateLimit {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let metadata = event.metadata();
        // `Level` orders the more verbose as greater: INFO > WARN.
        if *metadata.level() > Level::WARN || is_own(metadata) {
            return true;
        }
        let (pass, note) = self.admit(event);
        if let Some(note) = note {
            self.say(event, &note);
        }
        pass
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::logging::tests::Buffer;

    /// A clock that moves only when told.
    fn manual_clock() -> (Arc<AtomicU64>, impl Fn() -> Instant + Send + Sync + 'static) {
        let start = Instant::now();
        let offset = Arc::new(AtomicU64::new(0));
        let read = Arc::clone(&offset);
        (offset, move || {
            start + Duration::from_millis(read.load(Ordering::Relaxed))
        })
    }

    fn warn_from_one_site(i: usize) {
        tracing::warn!(i, "the same warning");
    }

    fn warn_from_another_site() {
        tracing::warn!("another warning");
    }

    #[test]
    fn a_flood_from_one_site_is_cut_to_a_burst_and_counted() {
        let buffer = Buffer::default();
        let (offset, clock) = manual_clock();
        let subscriber = tracing_subscriber::registry()
            .with(RateLimit::with_clock(10, Duration::from_secs(10), clock))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(buffer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..10_000 {
                warn_from_one_site(i);
                // Other sites keep their own budget, interleaved or not.
                if i % 1000 == 0 {
                    warn_from_another_site();
                }
                if i % 100 == 0 {
                    tracing::info!(i, "info is never limited");
                    tracing::error!(i, "an error site of its own");
                }
            }
            offset.store(10_000, Ordering::Relaxed);
            warn_from_one_site(10_000);
        });
        let lines = buffer.lines();
        let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
        // 10 in the first window, 1 in the second.
        assert_eq!(count("the same warning"), 11, "{lines:#?}");
        assert_eq!(count("another warning"), 10, "{lines:#?}");
        assert_eq!(count("info is never limited"), 100, "{lines:#?}");
        assert_eq!(count("an error site of its own"), 10, "{lines:#?}");
        // One notice per limited site, and the count of the first window when the next began.
        assert_eq!(count("suppressing the rest"), 2, "{lines:#?}");
        let summary: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("suppressed 9990 similar warnings in the last 10 s"))
            .collect();
        assert_eq!(summary.len(), 1, "{lines:#?}");
        assert!(summary[0].contains("suppressed=9990"), "{summary:?}");
        assert!(summary[0].contains("limit.rs:"), "{summary:?}");
        assert!(summary[0].contains(" WARN "), "{summary:?}");
        assert_eq!(count("similar errors"), 0, "{lines:#?}");
        assert_eq!(lines.len(), 11 + 10 + 100 + 10 + 2 + 1, "{lines:#?}");
    }

    #[test]
    fn a_quiet_site_never_hears_of_the_limiter() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(RateLimit::new(3, Duration::from_secs(3600)))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(buffer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..3 {
                warn_from_one_site(i);
            }
        });
        let lines = buffer.lines();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines.iter().all(|l| l.contains("the same warning")));
    }
}
