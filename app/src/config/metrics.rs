//! `/metrics`: on the API's listener, on one of its own, or off (`METRICS_BIND_ADDR`,
//! `METRICS_TOKEN`).

use std::net::SocketAddr;

use anyhow::Context;
use relivchats_api::auth::Secret;

/// Where `GET /metrics` is served (`METRICS_BIND_ADDR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListener {
    /// On the API's own listener, beside the routes (`api`; the development default). A
    /// worker-only process has no API listener and uses [`DEFAULT_METRICS_ADDR`] instead.
    Api,
    /// On a listener of its own (`host:port`; the production default is
    /// [`DEFAULT_METRICS_ADDR`]), so the public API never shows it.
    Separate(SocketAddr),
    /// Not served (`off`); the series are still recorded.
    Off,
}

/// The metrics listener of production (and of a worker-only process without one configured):
/// loopback, so nothing outside the host or container scrapes it unless an operator says so
/// (`METRICS_BIND_ADDR=0.0.0.0:9464` in docker-compose, on the internal network only).
pub const DEFAULT_METRICS_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// `/metrics`: where, and the bearer token a scrape must carry.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    pub listener: MetricsListener,
    /// `METRICS_TOKEN`: when set, a scrape without `Authorization: Bearer <token>` is a 401.
    pub token: Option<Secret>,
}

impl MetricsConfig {
    /// The separate listener's address for a process that has an API listener.
    pub fn separate_addr(&self) -> Option<SocketAddr> {
        match self.listener {
            MetricsListener::Separate(addr) => Some(addr),
            MetricsListener::Api | MetricsListener::Off => None,
        }
    }

    /// The listener's address for a worker-only process (which has no API listener).
    pub fn worker_addr(&self) -> Option<SocketAddr> {
        match self.listener {
            MetricsListener::Separate(addr) => Some(addr),
            MetricsListener::Api => Some(DEFAULT_METRICS_ADDR),
            MetricsListener::Off => None,
        }
    }
}

pub(super) fn metrics_config(
    get: &dyn Fn(&str) -> Option<String>,
    prod: bool,
) -> anyhow::Result<MetricsConfig> {
    let listener = match get("METRICS_BIND_ADDR").as_deref() {
        None if prod => MetricsListener::Separate(DEFAULT_METRICS_ADDR),
        None | Some("api") => MetricsListener::Api,
        Some("off") => MetricsListener::Off,
        Some(addr) => MetricsListener::Separate(addr.parse().with_context(|| {
            format!("METRICS_BIND_ADDR must be 'api', 'off' or an address such as 127.0.0.1:9464, not {addr:?}")
        })?),
    };
    Ok(MetricsConfig {
        listener,
        token: get("METRICS_TOKEN").map(Secret::new),
    })
}
