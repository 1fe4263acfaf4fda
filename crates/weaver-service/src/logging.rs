//! Logging set-up: `tracing` to stderr (stdout carries command output, and later the MCP
//! protocol), human or JSON, with a filter that `weaver serve` can change while running, and
//! repeated warnings rate-limited per site (`limit`) for every command and service.

mod limit;

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt, reload};

/// Changes the log filter of the running process.
#[derive(Debug, Clone)]
pub struct LogHandle(reload::Handle<EnvFilter, Registry>);

impl LogHandle {
    /// Replaces the filter with `directives` (such as `info` or `weaver=debug`).
    pub fn set_filter(&self, directives: &str) -> Result<(), String> {
        let filter = EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
        self.0.reload(filter).map_err(|e| e.to_string())
    }

    /// A handle to a filter that no subscriber reads, for a service embedded in a process whose
    /// logging belongs to its host (the in-process tests): [`LogHandle::set_filter`] on it
    /// reports an error, which a reload logs and survives.
    pub fn detached() -> Self {
        let (_unused, handle) = reload::Layer::<EnvFilter, Registry>::new(EnvFilter::new("warn"));
        Self(handle)
    }
}

/// Installs the global subscriber. An invalid filter falls back to `warn` (the service validates
/// its filter before calling this).
pub fn init(
    directives: &str,
    json: bool,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) -> LogHandle {
    let ansi = !json && std::io::stderr().is_terminal();
    let (subscriber, handle) = subscriber(directives, json, ansi, tracer, std::io::stderr);
    // Only fails when a subscriber is already installed, which cannot happen in this binary.
    let _ = subscriber.try_init();
    handle
}

/// The subscriber [`init`] installs, writing to `writer`: the filter, the limiter of repeated
/// warnings (before every output, so a suppressed event is neither printed nor exported), the
/// human or JSON output, and the trace export.
fn subscriber<W>(
    directives: &str,
    json: bool,
    ansi: bool,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
    writer: W,
) -> (impl Subscriber + Send + Sync + 'static, LogHandle)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    let (filter, handle) = reload::Layer::new(filter);
    let json_layer = json.then(|| {
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer.clone())
    });
    let human_layer = (!json).then(|| {
        fmt::layer()
            .compact()
            .with_target(false)
            .with_ansi(ansi)
            .with_writer(writer)
    });
    // Spans go to the OTLP exporter when trace export is on (see `telemetry.rs`).
    let otel_layer = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(limit::RateLimit::default())
        .with(json_layer)
        .with(human_layer)
        .with(otel_layer);
    (subscriber, LogHandle(handle))
}

/// Logging and trace export for a service (`serve`, `gateway`), from its `[log]` and `[tracing]`
/// settings. Keep the returned guard alive while the service runs: dropping it flushes traces.
pub fn init_service(
    log: &crate::config::LogConfig,
    tracing_config: &crate::config::TracingConfig,
) -> anyhow::Result<(Option<crate::telemetry::Telemetry>, LogHandle)> {
    let (telemetry, tracer) =
        match crate::telemetry::endpoint(tracing_config.otlp_endpoint.as_deref()) {
            Some(endpoint) => {
                let (guard, tracer) = crate::telemetry::provider(&endpoint)?;
                (Some(guard), Some(tracer))
            }
            None => (None, None),
        };
    let handle = init(
        &log.level,
        log.format == crate::config::LogFormat::Json,
        tracer,
    );
    if telemetry.is_some() {
        tracing::info!("exporting traces over OTLP");
    }
    Ok((telemetry, handle))
}

/// The CLI's filter: `RUST_LOG`, else `--log-level`/`WEAVER_LOG`, else `warn`.
pub fn cli_filter(log_level: Option<&str>) -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.is_empty())
        .or_else(|| log_level.map(str::to_owned))
        .unwrap_or_else(|| "warn".to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log output in memory.
    #[derive(Clone, Default)]
    pub struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Buffer {
        /// The lines written so far.
        pub fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Self;

        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    fn flood(n: usize) {
        for i in 0..n {
            tracing::warn!(target: "weaver_app::watch", i, "cannot follow the symlink");
        }
        tracing::info!(target: "weaver::gateway::access", "request");
        tracing::warn!("a different warning");
    }

    #[test]
    fn the_service_subscriber_cuts_floods_of_one_warning() {
        for json in [false, true] {
            let buffer = Buffer::default();
            let (subscriber, _handle) = subscriber("info", json, false, None, buffer.clone());
            tracing::subscriber::with_default(subscriber, || flood(10_000));
            let lines = buffer.lines();
            assert!(lines.len() <= limit::BURST as usize + 3, "{lines:#?}");
            let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
            assert_eq!(
                count("cannot follow the symlink"),
                limit::BURST as usize,
                "{lines:#?}"
            );
            assert_eq!(count("suppressing the rest"), 1, "{lines:#?}");
            assert_eq!(count("a different warning"), 1, "{lines:#?}");
            assert_eq!(count("request"), 1, "{lines:#?}");
            if json {
                for line in &lines {
                    serde_json::from_str::<serde_json::Value>(line).unwrap();
                }
            }
        }
    }

    #[test]
    fn the_filter_still_applies_to_the_limiter_s_own_lines() {
        let buffer = Buffer::default();
        let (subscriber, _handle) = subscriber("error", false, false, None, buffer.clone());
        tracing::subscriber::with_default(subscriber, || flood(100));
        assert!(buffer.lines().is_empty(), "{:#?}", buffer.lines());
    }
}
