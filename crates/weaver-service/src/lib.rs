//! What every Weaver service shares, and nothing of the engine: layered configuration
//! ([`config`]), logging with a rate limit ([`logging`]), OpenTelemetry traces ([`telemetry`]),
//! API keys and the bearer check ([`keys`]), every metric name and the Prometheus recorder
//! ([`metrics`]), reload triggers ([`reload`]), the shutdown signal ([`signal`]), request-body
//! limits ([`body`]) and blocking calls that stop when their caller goes ([`cancel`]).
//!
//! The gateway builds on this crate and `weaver-api` alone: no tantivy, no SQLite.

pub mod body;
pub mod cancel;
pub mod config;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod reload;
pub mod signal;
pub mod telemetry;
