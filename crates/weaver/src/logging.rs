//! Logging set-up: `tracing` to stderr (stdout carries command output, and later the MCP
//! protocol), human or JSON, with a filter that `weaver serve` can change while running.

use std::io::IsTerminal;

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
}

/// Installs the global subscriber. An invalid filter falls back to `warn` (the service validates
/// its filter before calling this).
pub fn init(
    directives: &str,
    json: bool,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) -> LogHandle {
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("warn"));
    let (filter, handle) = reload::Layer::new(filter);
    let json_layer = json.then(|| {
        fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
    });
    let human_layer = (!json).then(|| {
        fmt::layer()
            .compact()
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
    });
    // Spans go to the OTLP exporter when trace export is on (see `telemetry.rs`).
    let otel_layer = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
    // Only fails when a subscriber is already installed, which cannot happen in this binary.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json_layer)
        .with(human_layer)
        .with(otel_layer)
        .try_init();
    LogHandle(handle)
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
pub fn cli_filter(global: &crate::cli::Global) -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.is_empty())
        .or_else(|| global.log_level.clone())
        .unwrap_or_else(|| "warn".to_owned())
}
