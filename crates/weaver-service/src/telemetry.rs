//! Trace export: `tracing` spans sent as OpenTelemetry traces over OTLP/HTTP (Jaeger ingests
//! OTLP directly), and W3C trace context (`traceparent`) taken from incoming requests, so a trace
//! started at the gateway continues through the MCP service into weaver.
//!
//! Off by default. On when `[tracing] otlp_endpoint` is set (`weaver serve`) or the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` variable is (every command); `OTEL_SERVICE_NAME` names the
//! service (default `weaver`). Spans are exported in batches from a background thread; the
//! returned [`Telemetry`] flushes them when dropped.

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The standard variable naming the OTLP endpoint (`/v1/traces` is appended).
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Keeps the exporter running; flushes and stops it when dropped.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("warning: trace export did not flush: {err}");
        }
    }
}

/// The endpoint to export to: `configured`, else `OTEL_EXPORTER_OTLP_ENDPOINT`; `None` is off.
pub fn endpoint(configured: Option<&str>) -> Option<String> {
    configured
        .map(str::to_owned)
        .or_else(|| std::env::var(ENDPOINT_VAR).ok())
        .map(|e| e.trim().trim_end_matches('/').to_owned())
        .filter(|e| !e.is_empty())
}

/// A tracer provider exporting to `endpoint` (the OTLP base URL, such as
/// `http://jaeger:4318`), and installs the W3C trace-context propagator.
pub fn provider(endpoint: &str) -> anyhow::Result<(Telemetry, opentelemetry_sdk::trace::Tracer)> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot set up OTLP export to `{endpoint}`: {e}"))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "weaver".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    install_propagator();
    let tracer = provider.tracer("weaver");
    Ok((Telemetry { provider }, tracer))
}

/// Installs the W3C `traceparent`/`tracestate` propagator (idempotent).
pub fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

/// Makes `span` a child of the trace context in `headers`, when they carry one.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    use opentelemetry::trace::TraceContextExt as _;
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn incoming_trace_context_is_continued_and_exported() {
        install_propagator();
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            "traceparent",
            axum::http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("http_request", route = "/api/v1/vaults");
            continue_trace(&span, &headers);
            let _entered = span.enter();
            let child = tracing::info_span!("vault.search");
            let _child = child.enter();
            assert!(span.context().span().span_context().is_valid());
        });
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["vault.search", "http_request"]);
        for span in &spans {
            assert_eq!(
                span.span_context.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
        }
        let request = spans.iter().find(|s| s.name == "http_request").unwrap();
        assert_eq!(request.parent_span_id.to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn endpoint_comes_from_config_or_environment() {
        assert_eq!(
            endpoint(Some("http://jaeger:4318/")).as_deref(),
            Some("http://jaeger:4318")
        );
        assert_eq!(endpoint(Some("  ")), None);
    }
}
