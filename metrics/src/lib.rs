//! The process's metrics, in Prometheus text format.
//!
//! One [`Metrics`] per process (built in `app`, handed to the API through `AppState` and to the
//! activities through their constructors; never a global, so tests can run several apps side by
//! side). It holds the application's series (below), the Temporal SDK's worker metrics through
//! [`TemporalBridge`] (the SDK's `CoreMeter`), and database pool usage sampled at each scrape.
//! [`Metrics::render`] is the body of `GET /metrics`.
//!
//! Every label value comes from a closed set (`&'static str`, or the route *template* of the
//! request), so the number of series stays bounded whatever the traffic.
//!
//! Built on the `prometheus` crate: the Temporal SDK already links it for its own exporter, so
//! the SDK's series and ours are encoded by the same code into one scrape.

mod temporal;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder, proto::MetricFamily,
};

pub use temporal::TemporalBridge;

/// The content type of [`Metrics::render`]'s output (text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// A database pool's usage at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolUsage {
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    /// The most the pool will open.
    pub max: u32,
}

type PoolProbe = Box<dyn Fn() -> PoolUsage + Send + Sync>;

/// Latency buckets for HTTP requests, vector-store operations and the like (seconds).
const FAST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];
/// Model calls take seconds, sometimes a minute.
const MODEL_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0];

/// The application's series and the registry they live in. See the README for the list.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    uploads: IntCounterVec,
    upload_duration: HistogramVec,
    upload_bytes: Histogram,
    upload_messages: Histogram,
    unlocks_started: IntCounter,
    unlocks_settled: IntCounterVec,
    coins: IntCounterVec,
    webhooks: IntCounterVec,
    model_calls: IntCounterVec,
    model_duration: HistogramVec,
    model_tokens: IntCounterVec,
    vector_ops: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGaugeVec,
    pools: Mutex<Vec<(&'static str, PoolProbe)>>,
    temporal: Arc<TemporalBridge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("each metric is registered once");
    c
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("a valid metric definition");
    registry
        .register(Box::new(h.clone()))
        .expect("each metric is registered once");
    h
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("a valid metric definition");
    registry
        .register(Box::new(g.clone()))
        .expect("each metric is registered once");
    g
}

impl Metrics {
    /// A fresh registry with every series defined (and none observed yet).
    pub fn new() -> Self {
        let r = Registry::new();
        let build = gauge(
            &r,
            "relivchats_build_info",
            "Always 1; the running version in its label.",
            &["version"],
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let unlocks_started =
            IntCounter::new(
                "relivchats_unlocks_started_total",
                "Unlocks accepted by the API: a new job, its coins held and its workflow started (an attach to a running unlock is not counted).",
            )
            .expect("a valid metric definition");
        r.register(Box::new(unlocks_started.clone()))
            .expect("each metric is registered once");
        let upload_bytes = Histogram::with_opts(
            HistogramOpts::new(
                "relivchats_upload_bytes",
                "Size of each stored chat upload, as received (bytes).",
            )
            .buckets(
                prometheus::exponential_buckets(1024.0, 4.0, 10).expect("valid buckets"), // 1 KiB … 256 MiB
            ),
        )
        .expect("a valid metric definition");
        r.register(Box::new(upload_bytes.clone()))
            .expect("each metric is registered once");
        let upload_messages = Histogram::with_opts(
            HistogramOpts::new(
                "relivchats_upload_messages",
                "Messages in each stored chat upload.",
            )
            .buckets(prometheus::exponential_buckets(10.0, 4.0, 10).expect("valid buckets")), // 10 … 2.6M
        )
        .expect("a valid metric definition");
        r.register(Box::new(upload_messages.clone()))
            .expect("each metric is registered once");
        Self {
            http_requests: counter(
                &r,
                "relivchats_http_requests_total",
                "HTTP requests served, by method, route template and status code.",
                &["method", "route", "status"],
            ),
            http_duration: histogram(
                &r,
                "relivchats_http_request_duration_seconds",
                "Time from a request's arrival to its response headers, by method, route template and status code.",
                &["method", "route", "status"],
                FAST_BUCKETS.to_vec(),
            ),
            uploads: counter(
                &r,
                "relivchats_uploads_total",
                "Chat uploads by outcome: stored, refused (the file or request was at fault: 4xx) or failed (5xx).",
                &["outcome"],
            ),
            upload_duration: histogram(
                &r,
                "relivchats_upload_duration_seconds",
                "Time to receive, parse, encrypt and store an upload, by outcome.",
                &["outcome"],
                FAST_BUCKETS.to_vec(),
            ),
            upload_bytes,
            upload_messages,
            unlocks_started,
            unlocks_settled: counter(
                &r,
                "relivchats_unlocks_settled_total",
                "Unlocks that reached a final job status (completed, partial_failure, failed, refunded), counted once per status change.",
                &["outcome"],
            ),
            coins: counter(
                &r,
                "relivchats_unlock_coins_total",
                "Coins moved by unlocks: captured (charged), released (a hold given back uncharged) or refunded (after a capture). Counted once per reservation.",
                &["movement"],
            ),
            webhooks: counter(
                &r,
                "relivchats_webhook_deliveries_total",
                "Webhook deliveries received, by provider and what came of them.",
                &["provider", "result"],
            ),
            model_calls: counter(
                &r,
                "relivchats_model_calls_total",
                "Model (LLM) calls by provider and outcome (ok, retryable, rejected). A retried activity calls again and counts again.",
                &["provider", "outcome"],
            ),
            model_duration: histogram(
                &r,
                "relivchats_model_call_duration_seconds",
                "Model call latency by provider and outcome.",
                &["provider", "outcome"],
                MODEL_BUCKETS.to_vec(),
            ),
            model_tokens: counter(
                &r,
                "relivchats_model_tokens_total",
                "Tokens the model reported, by provider and kind (prompt, output). Providers that report none add nothing.",
                &["provider", "kind"],
            ),
            vector_ops: histogram(
                &r,
                "relivchats_vector_store_operation_duration_seconds",
                "Vector store operation latency by store, operation (upsert, query, delete_chat, count_chat, ping) and outcome.",
                &["store", "operation", "outcome"],
                FAST_BUCKETS.to_vec(),
            ),
            pool_connections: gauge(
                &r,
                "relivchats_db_pool_connections",
                "Database connections by pool (api, worker) and state (idle, in_use), sampled at each scrape.",
                &["pool", "state"],
            ),
            pool_max: gauge(
                &r,
                "relivchats_db_pool_max_connections",
                "The most connections each pool will open.",
                &["pool"],
            ),
            pools: Mutex::new(Vec::new()),
            temporal: Arc::new(TemporalBridge::default()),
            registry: r,
        }
    }

    /// One HTTP request: `route` is the matched route template (never the raw path).
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.http_requests.with_label_values(&labels).inc();
        self.http_duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// An upload that ended (`stored`, `refused` or `failed`).
    pub fn upload(&self, outcome: &'static str, elapsed: Duration) {
        self.uploads.with_label_values(&[outcome]).inc();
        self.upload_duration
            .with_label_values(&[outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// What a stored upload held.
    pub fn upload_stored(&self, bytes: usize, messages: u64) {
        self.upload_bytes.observe(bytes as f64);
        self.upload_messages.observe(messages as f64);
    }

    pub fn unlock_started(&self) {
        self.unlocks_started.inc();
    }

    /// An unlock job reached a final status (`completed`, `partial_failure`, `failed`,
    /// `refunded`).
    pub fn unlock_settled(&self, outcome: &str) {
        self.unlocks_settled.with_label_values(&[outcome]).inc();
    }

    /// Coins an unlock moved: `captured`, `released` or `refunded`.
    pub fn coins(&self, movement: &'static str, amount: i32) {
        if amount > 0 {
            self.coins
                .with_label_values(&[movement])
                .inc_by(u64::try_from(amount).unwrap_or_default());
        }
    }

    pub fn webhook_delivery(&self, provider: &'static str, result: &'static str) {
        self.webhooks.with_label_values(&[provider, result]).inc();
    }

    /// One model call; tokens as the provider reported them (0 when it did not).
    pub fn model_call(
        &self,
        provider: &'static str,
        outcome: &'static str,
        elapsed: Duration,
        prompt_tokens: u32,
        output_tokens: u32,
    ) {
        self.model_calls
            .with_label_values(&[provider, outcome])
            .inc();
        self.model_duration
            .with_label_values(&[provider, outcome])
            .observe(elapsed.as_secs_f64());
        for (kind, n) in [("prompt", prompt_tokens), ("output", output_tokens)] {
            if n > 0 {
                self.model_tokens
                    .with_label_values(&[provider, kind])
                    .inc_by(u64::from(n));
            }
        }
    }

    pub fn vector_operation(
        &self,
        store: &'static str,
        operation: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.vector_ops
            .with_label_values(&[store, operation, outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// Samples `probe` at every scrape as pool `name` (replacing an earlier pool of that name).
    pub fn watch_pool(
        &self,
        name: &'static str,
        probe: impl Fn() -> PoolUsage + Send + Sync + 'static,
    ) {
        let mut pools = self.pools.lock().expect("the pool list is never poisoned");
        pools.retain(|(n, _)| *n != name);
        pools.push((name, Box::new(probe)));
    }

    /// The meter to hand the Temporal SDK (`TelemetryOptions::metrics`): its worker metrics
    /// then appear in [`Metrics::render`] beside ours.
    pub fn temporal_meter(&self) -> Arc<TemporalBridge> {
        self.temporal.clone()
    }

    /// Every series, in Prometheus text format.
    pub fn render(&self) -> String {
        self.sample_pools();
        let mut families: Vec<MetricFamily> = self.registry.gather();
        families.extend(self.temporal.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut out = String::new();
        if let Err(e) = TextEncoder::new().encode_utf8(&families, &mut out) {
            // Only a malformed family fails, and ours are built above; say so in the scrape.
            out.push_str(&format!("# encoding failed: {e}\n"));
        }
        out
    }

    fn sample_pools(&self) {
        let pools = self.pools.lock().expect("the pool list is never poisoned");
        for (name, probe) in pools.iter() {
            let usage = probe();
            let idle = i64::from(usage.idle);
            let in_use = i64::from(usage.size.saturating_sub(usage.idle));
            self.pool_connections
                .with_label_values(&[name, "idle"])
                .set(idle);
            self.pool_connections
                .with_label_values(&[name, "in_use"])
                .set(in_use);
            self.pool_max
                .with_label_values(&[name])
                .set(i64::from(usage.max));
        }
    }
}

/// Times an operation for a histogram: `let t = Timer::start(); …; t.elapsed()`.
#[derive(Debug, Clone, Copy)]
pub struct Timer(std::time::Instant);

impl Timer {
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_observed_series_with_their_labels() {
        let m = Metrics::new();
        m.http_request("GET", "/api/chats/{chat_id}", 200, Duration::from_millis(3));
        m.coins("captured", 400);
        m.coins("released", 0);
        m.watch_pool("api", || PoolUsage {
            size: 3,
            idle: 1,
            max: 5,
        });
        let text = m.render();
        assert!(
            text.contains(
                r#"relivchats_http_requests_total{method="GET",route="/api/chats/{chat_id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"relivchats_unlock_coins_total{movement="captured"} 400"#),
            "{text}"
        );
        assert!(!text.contains(r#"movement="released""#), "{text}");
        assert!(
            text.contains(r#"relivchats_db_pool_connections{pool="api",state="in_use"} 2"#),
            "{text}"
        );
    }
}
