//! Logging: JSON in production, human-readable in development.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// The default filter keeps our crates at `info` and the chatty dependencies at `warn`.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,temporalio_sdk_core=warn,temporalio_client=warn,tower_http=warn,h2=warn,hyper=warn";

/// Installs the global subscriber once (later calls are ignored, as in tests).
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init(),
        LogFormat::Human => registry.with(fmt::layer().with_target(false)).try_init(),
    };
}
