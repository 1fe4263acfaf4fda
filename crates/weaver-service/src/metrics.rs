//! Every metric Weaver's services export, declared in this one module, and the recorder that
//! renders them for `GET /metrics`. The per-vault recorders are in `weaver-server`'s `metrics`.
//!
//! Label values are bounded: `route` is the matched route template (never the raw path),
//! `method` one of the standard methods or `other`, `status` the numeric status, `vault` a
//! configured vault name.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `route`, `method` and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Time to produce the response head, by `route` and `method`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
/// Requests being handled now.
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "http_requests_in_flight";
/// Notes in the vault, by `vault`.
pub const NOTES: &str = "weaver_notes";
/// Links between notes and attachments, by `vault`.
pub const LINKS: &str = "weaver_links";
/// Links that resolve to nothing, by `vault`.
pub const UNRESOLVED_LINKS: &str = "weaver_unresolved_links";
/// Seconds since the oldest file event not yet applied to the index (0 when caught up), by
/// `vault`. Needs an event hook from `weaver_app::watch`; reported as 0 until it has one.
pub const INDEX_LAG_SECONDS: &str = "weaver_index_lag_seconds";
/// File events received by the watcher, by `vault`. Needs the same hook; stays 0 until then.
pub const WATCHER_EVENTS_TOTAL: &str = "weaver_watcher_events_total";
/// Conditional writes refused because the note changed meanwhile, by `vault` (incremented by
/// the write routes).
pub const WRITE_CONFLICTS_TOTAL: &str = "weaver_write_conflicts_total";
/// Duration of index syncs that changed something, by `vault`.
pub const SYNC_DURATION_SECONDS: &str = "weaver_sync_duration_seconds";
/// Gauge: vault calls running on the blocking pool, including those whose caller has gone (kept
/// by `crate::cancel`).
pub const QUERIES_IN_FLIGHT: &str = "weaver_queries_in_flight";
/// Vault calls whose caller went away before they finished (their work is told to stop).
pub const QUERIES_ABANDONED_TOTAL: &str = "weaver_queries_abandoned_total";
/// Gauge: notes of the vault the embedding model has to embed, by `vault` (with semantic
/// search on).
pub const SEMANTIC_NOTES: &str = "weaver_semantic_notes";
/// Gauge: notes whose current version is embedded, by `vault`; equal to
/// [`SEMANTIC_NOTES`] once the background embedding has caught up.
pub const SEMANTIC_EMBEDDED_NOTES: &str = "weaver_semantic_embedded_notes";
/// Gauge: chunk vectors held for semantic search, by `vault`.
pub const SEMANTIC_CHUNKS: &str = "weaver_semantic_chunks";
/// Chunks the model has computed (not taken from the cache) since start, by `vault`.
pub const SEMANTIC_CHUNKS_COMPUTED_TOTAL: &str = "weaver_semantic_chunks_computed_total";
/// Gauge: resident memory of the process, in bytes (Linux).
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";
/// Gauge: CPU time used by the process, in seconds (Linux; a gauge set from the kernel's total).
pub const PROCESS_CPU_SECONDS: &str = "process_cpu_seconds_total";
/// Gauge: open file descriptors (Linux).
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";

/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

/// Histogram buckets, in seconds: 1 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A finer route label set by a handler that serves several documented routes from one axum
/// route (`notes/{*path}` serves `.../backlinks`, `.../links` and `.../neighbors` too).
#[derive(Debug, Clone, Copy)]
pub struct RouteLabel(pub &'static str);

/// Installs the process-wide recorder (once) and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            let builder = match builder.set_buckets(BUCKETS) {
                Ok(b) => b,
                Err(err) => {
                    tracing::warn!(error = %err, "histogram buckets rejected; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests answered");
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Time to produce the response head"
    );
    describe_gauge!(HTTP_REQUESTS_IN_FLIGHT, "HTTP requests being handled");
    describe_gauge!(NOTES, "Notes in the vault");
    describe_gauge!(LINKS, "Links to notes and attachments");
    describe_gauge!(UNRESOLVED_LINKS, "Links that resolve to nothing");
    describe_gauge!(
        INDEX_LAG_SECONDS,
        metrics::Unit::Seconds,
        "Age of the oldest file event not yet indexed"
    );
    describe_counter!(WATCHER_EVENTS_TOTAL, "File events received by the watcher");
    describe_counter!(
        WRITE_CONFLICTS_TOTAL,
        "Conditional writes refused because the note changed"
    );
    describe_histogram!(
        SYNC_DURATION_SECONDS,
        metrics::Unit::Seconds,
        "Duration of index syncs that changed something"
    );
    describe_gauge!(
        PROCESS_RESIDENT_MEMORY_BYTES,
        metrics::Unit::Bytes,
        "Resident memory of the process"
    );
    describe_gauge!(
        PROCESS_CPU_SECONDS,
        metrics::Unit::Seconds,
        "CPU time used by the process"
    );
    describe_gauge!(PROCESS_OPEN_FDS, "Open file descriptors");
    describe_gauge!(SEMANTIC_NOTES, "Notes to embed for semantic search");
    describe_gauge!(
        SEMANTIC_EMBEDDED_NOTES,
        "Notes whose current version is embedded"
    );
    describe_gauge!(SEMANTIC_CHUNKS, "Chunk vectors held for semantic search");
    describe_counter!(
        SEMANTIC_CHUNKS_COMPUTED_TOTAL,
        "Chunks embedded by the model (not from the cache)"
    );
    describe_gauge!(
        QUERIES_IN_FLIGHT,
        "Vault calls running on the blocking pool, including abandoned ones"
    );
    describe_counter!(
        QUERIES_ABANDONED_TOTAL,
        "Vault calls whose caller went away before they finished"
    );
    // Visible at zero before the first call.
    gauge!(QUERIES_IN_FLIGHT).increment(0.0);
    counter!(QUERIES_ABANDONED_TOTAL).increment(0);
}

/// Middleware: counts and times every request under its route template.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |m| m.as_str().to_owned());
    let method = method_label(req.method());
    let in_flight = InFlight::start();
    let started = Instant::now();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    drop(in_flight);
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or(route, |r| r.0.to_owned());
    let status = response.status().as_u16().to_string();
    counter!(HTTP_REQUESTS_TOTAL, "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    histogram!(HTTP_REQUEST_DURATION_SECONDS, "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
    response
}

/// The in-flight gauge, decremented even when the request future is dropped.
struct InFlight;

impl InFlight {
    fn start() -> Self {
        gauge!(HTTP_REQUESTS_IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        gauge!(HTTP_REQUESTS_IN_FLIGHT).decrement(1.0);
    }
}

/// A bounded label for an HTTP method.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Sets the process gauges from `/proc/self` (Linux; elsewhere nothing is set). Called at
/// scrape time, so the values are current.
pub fn process() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(kb) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    {
        gauge!(PROCESS_RESIDENT_MEMORY_BYTES).set(kb * 1024.0);
    }
    // utime and stime are fields 14 and 15 of /proc/self/stat, after the `(comm)` field, in
    // clock ticks (100 per second on Linux).
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some(rest) = stat.rsplit(')').next()
    {
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        gauge!(PROCESS_CPU_SECONDS).set((ticks(11) + ticks(12)) / 100.0);
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        gauge!(PROCESS_OPEN_FDS).set(entries.count() as f64);
    }
}
