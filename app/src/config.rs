//! Typed configuration, read once from the environment (and a `.env` file in development).
//!
//! Every variable is documented in `.env.example`. Secrets are held in [`Secret`], whose
//! `Debug` never prints them. Nothing here is global: tests build a [`Config`] from a map.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use relivchats_api::{
    ApiSettings, ClerkApi,
    auth::{AuthSettings, ClerkSettings, Secret},
};
use relivchats_domain::contracts::DEFAULT_TASK_QUEUE;

/// Where the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Human,
}

/// How to reach Temporal.
#[derive(Debug, Clone)]
pub struct TemporalConfig {
    /// `host:port` or a URL (`http://…`, `https://…`).
    pub address: String,
    pub namespace: String,
    pub task_queue: String,
    /// Temporal Cloud API key (turns TLS on).
    pub api_key: Option<Secret>,
    pub tls: bool,
    /// Where the dev server's UI is, printed on start.
    pub ui_url: Option<String>,
    pub max_concurrent_activities: usize,
    pub max_concurrent_workflow_tasks: usize,
    /// The queue `generate_insight` runs on (`TEMPORAL_MODEL_TASK_QUEUE`, default
    /// `<task_queue>-model`): every worker polls it beside the main queue.
    pub model_task_queue: String,
    /// `MODEL_ACTIVITIES_PER_SECOND`: Temporal's task-queue rate limit on the model queue,
    /// enforced by the server for all its pollers together (unset: no limit).
    pub model_activities_per_second: Option<f64>,
}

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

fn metrics_config(
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

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: Secret,
    pub database_max_connections: u32,
    pub bind_addr: SocketAddr,
    pub data_dir: PathBuf,
    pub temporal: TemporalConfig,
    pub auth: AuthSettings,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    pub clerk_api: Option<ClerkApi>,
    /// Fernet key for chat content at rest.
    pub encryption_key: Secret,
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: usize,
    /// How uploads cut messages into stored blocks (`MESSAGE_BLOCK_MESSAGES`, `MESSAGE_BLOCK_BYTES`).
    pub message_blocks: relivchats_domain::blocks::BlockLimits,
    /// Most chat text a zip may unpack to (`MAX_UNPACKED_BYTES`, default `MAX_UPLOAD_BYTES`).
    pub max_unpacked_bytes: usize,
    /// Most messages and participants one chat may have (`MAX_CHAT_MESSAGES`, `MAX_CHAT_PARTICIPANTS`).
    pub max_chat_messages: usize,
    pub max_chat_participants: usize,
    /// LLM, embedder and vector store (`LLM_PROVIDER`, `EMBEDDING_PROVIDER`, `VECTOR_STORE` …).
    pub providers: crate::providers::ProviderConfig,
    /// Deadline, timeouts and retries of unlocks.
    pub unlock_timings: relivchats_domain::contracts::unlock::UnlockTimings,
    /// Stripe and Razorpay (`STRIPE_*`, `RAZORPAY_*`); unset providers answer 503.
    pub payments: crate::payments::PaymentsConfig,
    /// Server-side timeouts against slow or stalled clients (`HTTP_*_TIMEOUT_SECS`).
    pub http_timeouts: relivchats_api::HttpTimeouts,
    /// `RATE_LIMIT_*`, `TRUSTED_PROXY_HEADER`, `MAX_RUNNING_UNLOCKS_PER_USER`,
    /// `MAX_UPLOADS_PER_HOUR`.
    pub rate_limits: relivchats_api::limits::RateLimitSettings,
    /// Svix secret of Clerk's webhooks (`CLERK_WEBHOOK_SECRET`).
    pub clerk_webhook_secret: Option<Secret>,
    /// How often the worker releases coin holds past their expiry
    /// (`RESERVATION_SWEEP_SECS`; 0 turns the sweeper off).
    pub reservation_sweep_secs: u64,
    /// `METRICS_BIND_ADDR`, `METRICS_TOKEN`.
    pub metrics: MetricsConfig,
}

fn rate_limits(
    get: &dyn Fn(&str) -> Option<String>,
    prod: bool,
) -> anyhow::Result<relivchats_api::limits::RateLimitSettings> {
    use relivchats_api::limits::{LimitClass, RateLimitSettings};
    let mut s = if prod {
        RateLimitSettings::production()
    } else {
        RateLimitSettings::generous()
    };
    for (class, key) in [
        (LimitClass::Upload, "RATE_LIMIT_UPLOADS_PER_MINUTE"),
        (LimitClass::Unlock, "RATE_LIMIT_UNLOCKS_PER_MINUTE"),
        (LimitClass::Retry, "RATE_LIMIT_RETRIES_PER_MINUTE"),
        (LimitClass::RagQuery, "RATE_LIMIT_RAG_QUERIES_PER_MINUTE"),
        (
            LimitClass::PaymentOrder,
            "RATE_LIMIT_PAYMENT_ORDERS_PER_MINUTE",
        ),
        (LimitClass::UserStore, "RATE_LIMIT_USER_STORE_PER_MINUTE"),
        (
            LimitClass::PublicStats,
            "RATE_LIMIT_PUBLIC_STATS_PER_MINUTE",
        ),
    ] {
        let default = s.per_minute[&class];
        s.per_minute
            .insert(class, parse_num(get(key), default, key)?);
    }
    s.trusted_proxy_header = get("TRUSTED_PROXY_HEADER")
        .map(|h| {
            axum::http::HeaderName::try_from(h.to_ascii_lowercase()).map_err(|_| {
                anyhow::anyhow!("TRUSTED_PROXY_HEADER must be a header name, not {h:?}")
            })
        })
        .transpose()?;
    s.max_running_unlocks = parse_num(
        get("MAX_RUNNING_UNLOCKS_PER_USER"),
        s.max_running_unlocks,
        "MAX_RUNNING_UNLOCKS_PER_USER",
    )?;
    s.max_uploads_per_hour = parse_num(
        get("MAX_UPLOADS_PER_HOUR"),
        s.max_uploads_per_hour,
        "MAX_UPLOADS_PER_HOUR",
    )?;
    Ok(s)
}

fn http_timeouts(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<relivchats_api::HttpTimeouts> {
    let d = relivchats_api::HttpTimeouts::default();
    let secs = |key: &str, default: std::time::Duration| -> anyhow::Result<std::time::Duration> {
        let v: f64 = parse_num(get(key), default.as_secs_f64(), key)?;
        if !(v > 0.0 && v.is_finite()) {
            bail!("{key} must be a positive number of seconds, not {v}");
        }
        Ok(std::time::Duration::from_secs_f64(v))
    };
    Ok(relivchats_api::HttpTimeouts {
        header_read: secs("HTTP_HEADER_READ_TIMEOUT_SECS", d.header_read)?,
        body_idle: secs("HTTP_BODY_IDLE_TIMEOUT_SECS", d.body_idle)?,
        request: secs("HTTP_REQUEST_TIMEOUT_SECS", d.request)?,
    })
}

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/relivchats";
const DEFAULT_CORS: [&str; 2] = ["http://localhost:3000", "http://localhost:3001"];
pub const DEV_SECRET_FILE: &str = "dev-auth-secret";
pub const ENCRYPTION_KEY_FILE: &str = "encryption-key";
/// 25 MiB, the limit the frontend tells people about.
const DEFAULT_MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;
/// A 25 MiB export of real chats holds ~250k messages; a million leaves room for terse ones
/// while refusing the millions of one-character lines a crafted file packs in.
const DEFAULT_MAX_CHAT_MESSAGES: usize = 1_000_000;
/// WhatsApp groups hold at most 1,024 members at a time; people come and go over the years.
const DEFAULT_MAX_CHAT_PARTICIPANTS: usize = 5_000;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_map(&vars)
    }

    /// Reads configuration from a map of variables (the environment, or a test's choice).
    pub fn from_map(vars: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |key: &str| lookup(vars, key);
        let environment = match get("ENVIRONMENT").as_deref().unwrap_or("development") {
            "development" | "dev" | "local" => Environment::Development,
            "production" | "prod" | "staging" => Environment::Production,
            other => bail!("ENVIRONMENT must be 'development' or 'production', not {other:?}"),
        };
        let prod = environment == Environment::Production;
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".to_owned()));
        let database_url = match get("DATABASE_URL") {
            Some(url) => url,
            None if prod => bail!("DATABASE_URL must be set in production"),
            None => DEFAULT_DATABASE_URL.to_owned(),
        };
        let bind_addr = get("BIND_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8000".to_owned())
            .parse()
            .context("BIND_ADDR must be an address such as 127.0.0.1:8000")?;
        let task_queue =
            get("TEMPORAL_TASK_QUEUE").unwrap_or_else(|| DEFAULT_TASK_QUEUE.to_owned());
        let temporal = TemporalConfig {
            address: get("TEMPORAL_ADDRESS").unwrap_or_else(|| "127.0.0.1:7233".to_owned()),
            namespace: get("TEMPORAL_NAMESPACE").unwrap_or_else(|| "default".to_owned()),
            model_task_queue: get("TEMPORAL_MODEL_TASK_QUEUE")
                .unwrap_or_else(|| format!("{task_queue}-model")),
            task_queue,
            api_key: get("TEMPORAL_API_KEY").map(Secret::new),
            tls: parse_bool(get("TEMPORAL_TLS").as_deref(), "TEMPORAL_TLS")?
                .unwrap_or_else(|| get("TEMPORAL_API_KEY").is_some()),
            ui_url: get("TEMPORAL_UI_URL"),
            max_concurrent_activities: parse_num(
                get("WORKER_MAX_CONCURRENT_ACTIVITIES"),
                64,
                "WORKER_MAX_CONCURRENT_ACTIVITIES",
            )?,
            max_concurrent_workflow_tasks: parse_num(
                get("WORKER_MAX_CONCURRENT_WORKFLOW_TASKS"),
                64,
                "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS",
            )?,
            model_activities_per_second: match get("MODEL_ACTIVITIES_PER_SECOND") {
                None => None,
                Some(raw) => match raw.parse::<f64>() {
                    Ok(rate) if rate.is_finite() && rate > 0.0 => Some(rate),
                    _ => {
                        bail!("MODEL_ACTIVITIES_PER_SECOND must be a positive number, not {raw:?}")
                    }
                },
            },
        };
        let model_task_queue = temporal.model_task_queue.clone();
        let auth_mode =
            get("AUTH_MODE").unwrap_or_else(|| if prod { "clerk" } else { "dev" }.to_owned());
        let auth = match auth_mode.as_str() {
            "dev" if prod => bail!(
                "AUTH_MODE=dev is refused when ENVIRONMENT=production: dev tokens are minted by anyone with the secret. Configure Clerk (AUTH_MODE=clerk, CLERK_JWKS_URL)."
            ),
            "dev" => AuthSettings::Dev {
                secret: match get("DEV_AUTH_SECRET") {
                    Some(s) => Secret::new(s),
                    None => Secret::new(local_secret(&data_dir, DEV_SECRET_FILE, random_hex)?),
                },
            },
            "clerk" => AuthSettings::Clerk(ClerkSettings {
                jwks_url: get("CLERK_JWKS_URL").context(
                    "CLERK_JWKS_URL must be set with AUTH_MODE=clerk (https://<frontend-api>/.well-known/jwks.json or https://api.clerk.com/v1/jwks)",
                )?,
                jwks_ttl: std::time::Duration::from_secs(parse_num(
                    get("CLERK_JWKS_TTL_SECS"),
                    relivchats_api::auth::DEFAULT_JWKS_TTL.as_secs(),
                    "CLERK_JWKS_TTL_SECS",
                )?),
                secret_key: get("CLERK_SECRET_KEY").map(Secret::new),
                // In production a token must come from our Clerk instance, not merely be
                // signed by a key its JWKS URL serves.
                issuer: match get("CLERK_ISSUER") {
                    Some(issuer) => Some(issuer),
                    None if prod => bail!(
                        "CLERK_ISSUER must be set in production (your Clerk Frontend API URL, e.g. https://clerk.example.com): tokens without that issuer are refused"
                    ),
                    None => None,
                },
                authorized_parties: get("CLERK_AUTHORIZED_PARTIES").map(|v| parse_list(&v)).unwrap_or_default(),
            }),
            other => bail!("AUTH_MODE must be 'dev' or 'clerk', not {other:?}"),
        };
        let clerk_api = get("CLERK_SECRET_KEY").map(|key| ClerkApi {
            base_url: get("CLERK_API_BASE").unwrap_or_else(|| "https://api.clerk.com".to_owned()),
            secret_key: Secret::new(key),
        });
        let encryption_key = match get("ENCRYPTION_KEY") {
            Some(key) => key,
            None if prod => bail!(
                "ENCRYPTION_KEY must be set in production (a Fernet key: 32 bytes, URL-safe base64); chat content is encrypted with it"
            ),
            None => local_secret(
                &data_dir,
                ENCRYPTION_KEY_FILE,
                relivchats_domain::crypto::Cipher::generate_key,
            )?,
        };
        relivchats_domain::crypto::Cipher::new(&encryption_key)
            .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY: {e}"))?;
        let log_format = match get("LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("human") => LogFormat::Human,
            None if prod => LogFormat::Json,
            None => LogFormat::Human,
            Some(other) => bail!("LOG_FORMAT must be 'json' or 'human', not {other:?}"),
        };
        let max_upload_bytes = parse_num(
            get("MAX_UPLOAD_BYTES"),
            DEFAULT_MAX_UPLOAD_BYTES,
            "MAX_UPLOAD_BYTES",
        )?;
        Ok(Self {
            environment,
            database_url: Secret::new(database_url),
            database_max_connections: parse_num(
                get("DATABASE_MAX_CONNECTIONS"),
                20,
                "DATABASE_MAX_CONNECTIONS",
            )?,
            bind_addr,
            data_dir,
            temporal,
            auth,
            cors_origins: get("CORS_ORIGINS")
                .map(|v| parse_list(&v))
                .unwrap_or_else(|| DEFAULT_CORS.map(str::to_owned).to_vec()),
            log_format,
            clerk_api,
            encryption_key: Secret::new(encryption_key),
            max_upload_bytes,
            max_unpacked_bytes: parse_num(
                get("MAX_UNPACKED_BYTES"),
                max_upload_bytes,
                "MAX_UNPACKED_BYTES",
            )?,
            max_chat_messages: parse_num(
                get("MAX_CHAT_MESSAGES"),
                DEFAULT_MAX_CHAT_MESSAGES,
                "MAX_CHAT_MESSAGES",
            )?,
            max_chat_participants: parse_num(
                get("MAX_CHAT_PARTICIPANTS"),
                DEFAULT_MAX_CHAT_PARTICIPANTS,
                "MAX_CHAT_PARTICIPANTS",
            )?,
            message_blocks: message_blocks(&get)?,
            providers: crate::providers::ProviderConfig::from_vars(vars)?,
            unlock_timings: relivchats_domain::contracts::unlock::UnlockTimings {
                model_task_queue: Some(model_task_queue),
                ..unlock_timings(&get)?
            },
            payments: crate::payments::PaymentsConfig::from_map(vars)?,
            http_timeouts: http_timeouts(&get)?,
            clerk_webhook_secret: get("CLERK_WEBHOOK_SECRET").map(Secret::new),
            rate_limits: rate_limits(&get, prod)?,
            metrics: metrics_config(&get, prod)?,
            reservation_sweep_secs: parse_num(
                get("RESERVATION_SWEEP_SECS"),
                60,
                "RESERVATION_SWEEP_SECS",
            )?,
        })
    }

    /// The HTTP layer's part of the configuration.
    pub fn api_settings(&self) -> ApiSettings {
        ApiSettings {
            environment: self.environment.as_str().to_owned(),
            expose_internals: self.environment == Environment::Development,
            cors_origins: self.cors_origins.clone(),
            clerk_api: self.clerk_api.clone(),
            max_upload_bytes: self.max_upload_bytes,
            message_blocks: self.message_blocks,
            upload_caps: relivchats_api::UploadCaps {
                max_unpacked_bytes: self.max_unpacked_bytes,
                max_messages: self.max_chat_messages,
                max_participants: self.max_chat_participants,
            },
            unlock_timings: self.unlock_timings.clone(),
            timeouts: self.http_timeouts,
            clerk_webhook_secret: self.clerk_webhook_secret.clone(),
            rate_limits: self.rate_limits.clone(),
            metrics_on_api: self.metrics.listener == MetricsListener::Api,
            metrics_token: self.metrics.token.clone(),
        }
    }
}

fn message_blocks(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<relivchats_domain::blocks::BlockLimits> {
    let d = relivchats_domain::blocks::BlockLimits::default();
    let limits = relivchats_domain::blocks::BlockLimits {
        max_messages: parse_num(
            get("MESSAGE_BLOCK_MESSAGES"),
            d.max_messages,
            "MESSAGE_BLOCK_MESSAGES",
        )?,
        max_bytes: parse_num(
            get("MESSAGE_BLOCK_BYTES"),
            d.max_bytes,
            "MESSAGE_BLOCK_BYTES",
        )?,
    };
    if limits.max_messages == 0 || limits.max_bytes == 0 {
        bail!("MESSAGE_BLOCK_MESSAGES and MESSAGE_BLOCK_BYTES must be at least 1");
    }
    Ok(limits)
}

fn unlock_timings(
    get: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<relivchats_domain::contracts::unlock::UnlockTimings> {
    let d = relivchats_domain::contracts::unlock::UnlockTimings::default();
    let t = relivchats_domain::contracts::unlock::UnlockTimings {
        deadline_secs: parse_num(
            get("UNLOCK_DEADLINE_SECS"),
            d.deadline_secs,
            "UNLOCK_DEADLINE_SECS",
        )?,
        insight_timeout_secs: parse_num(
            get("INSIGHT_TIMEOUT_SECS"),
            d.insight_timeout_secs,
            "INSIGHT_TIMEOUT_SECS",
        )?,
        insight_max_attempts: parse_num(
            get("INSIGHT_MAX_ATTEMPTS"),
            d.insight_max_attempts,
            "INSIGHT_MAX_ATTEMPTS",
        )?,
        refund_window_secs: parse_num(
            get("UNLOCK_REFUND_WINDOW_SECS"),
            d.refund_window_secs,
            "UNLOCK_REFUND_WINDOW_SECS",
        )?,
        model_task_queue: None,
    };
    if t.deadline_secs == 0 || t.insight_timeout_secs == 0 || t.insight_max_attempts == 0 {
        bail!(
            "UNLOCK_DEADLINE_SECS, INSIGHT_TIMEOUT_SECS and INSIGHT_MAX_ATTEMPTS must be at least 1"
        );
    }
    Ok(t)
}

fn parse_bool(raw: Option<&str>, key: &str) -> anyhow::Result<Option<bool>> {
    Ok(match raw {
        None => None,
        Some("1" | "true" | "yes" | "on") => Some(true),
        Some("0" | "false" | "no" | "off") => Some(false),
        Some(other) => bail!("{key} must be true or false, not {other:?}"),
    })
}

/// A variable's value, trimmed; empty counts as unset (`.env.example` lists keys with no value).
pub(crate) fn lookup(vars: &HashMap<String, String>, key: &str) -> Option<String> {
    vars.get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub(crate) fn parse_num<T: std::str::FromStr>(
    raw: Option<String>,
    default: T,
    key: &str,
) -> anyhow::Result<T> {
    match raw {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{key} must be a number, not {v:?}")),
    }
}

/// A JSON list (`["a","b"]`, as the earlier service took) or a comma-separated one.
fn parse_list(raw: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list;
    }
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn random_hex() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret kept under `DATA_DIR` (the dev-auth secret, the development encryption key),
/// generated the first time, so separate processes (`token` and `serve`) agree without anyone
/// configuring it.
fn local_secret(data_dir: &Path, file: &str, generate: fn() -> String) -> anyhow::Result<String> {
    use std::io::Write;
    let path = data_dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create DATA_DIR {}", data_dir.display()))?;
    let secret = generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_owned())
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// Pairs as the variable map every `from_map`/`from_vars` reads; for the config tests.
#[cfg(test)]
pub(crate) fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_dev_auth() {
        let err = Config::from_map(&map(&[
            ("ENVIRONMENT", "production"),
            ("DATABASE_URL", "postgres://x/y"),
            ("AUTH_MODE", "dev"),
            (
                "ENCRYPTION_KEY",
                &relivchats_domain::crypto::Cipher::generate_key(),
            ),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
    }

    #[test]
    fn production_defaults_to_clerk_and_needs_jwks() {
        let err = Config::from_map(&map(&[
            ("ENVIRONMENT", "production"),
            ("DATABASE_URL", "postgres://x/y"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CLERK_JWKS_URL"), "{err}");
    }

    #[test]
    fn production_requires_the_clerk_issuer() {
        let mut vars = map(&[
            ("ENVIRONMENT", "production"),
            ("DATABASE_URL", "postgres://x/y"),
            (
                "CLERK_JWKS_URL",
                "https://clerk.example.com/.well-known/jwks.json",
            ),
            (
                "ENCRYPTION_KEY",
                "Gm0nGnBd2M0oP2lYw7mC9r1kq8Tq1xZ5cI4b6yQe3Vs=",
            ),
        ]);
        let err = Config::from_map(&vars).unwrap_err();
        assert!(err.to_string().contains("CLERK_ISSUER"), "{err}");
        vars.insert("CLERK_ISSUER".into(), "https://clerk.example.com".into());
        let config = Config::from_map(&vars).unwrap();
        match &config.auth {
            AuthSettings::Clerk(c) => {
                assert_eq!(c.issuer.as_deref(), Some("https://clerk.example.com"))
            }
            AuthSettings::Dev { .. } => panic!("production must use Clerk"),
        }
    }

    #[test]
    fn dev_secret_is_generated_once() {
        let dir = std::env::temp_dir().join(format!("reliv-cfg-{}", uuid::Uuid::new_v4()));
        let vars = map(&[("DATA_DIR", dir.to_str().unwrap())]);
        let a = Config::from_map(&vars).unwrap();
        let b = Config::from_map(&vars).unwrap();
        let secret = |c: &Config| match &c.auth {
            AuthSettings::Dev { secret } => secret.expose().to_owned(),
            AuthSettings::Clerk(_) => panic!("expected dev auth"),
        };
        assert_eq!(secret(&a), secret(&b));
        assert_eq!(secret(&a).len(), 64);
        assert!(
            !format!("{a:?}").contains(&secret(&a)),
            "Debug must redact secrets"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn metrics_are_on_the_api_in_development_and_apart_in_production() {
        let dev = metrics_config(&|_| None, false).unwrap();
        assert_eq!(dev.listener, MetricsListener::Api);
        assert_eq!(dev.separate_addr(), None);
        assert_eq!(dev.worker_addr(), Some(DEFAULT_METRICS_ADDR));
        let prod = metrics_config(&|_| None, true).unwrap();
        assert_eq!(
            prod.listener,
            MetricsListener::Separate(DEFAULT_METRICS_ADDR)
        );
        let vars = map(&[
            ("METRICS_BIND_ADDR", "0.0.0.0:9500"),
            ("METRICS_TOKEN", "t"),
        ]);
        let get = |k: &str| lookup(&vars, k);
        let set = metrics_config(&get, true).unwrap();
        assert_eq!(set.separate_addr(), Some("0.0.0.0:9500".parse().unwrap()));
        assert_eq!(set.token.as_ref().map(Secret::expose), Some("t"));
        let off = map(&[("METRICS_BIND_ADDR", "off")]);
        let off = metrics_config(&|k| lookup(&off, k), false).unwrap();
        assert_eq!((off.separate_addr(), off.worker_addr()), (None, None));
        let bad = map(&[("METRICS_BIND_ADDR", "everywhere")]);
        let err = metrics_config(&|k| lookup(&bad, k), false).unwrap_err();
        assert!(err.to_string().contains("METRICS_BIND_ADDR"), "{err}");
    }

    #[test]
    fn lists_accept_json_or_commas() {
        assert_eq!(
            parse_list(r#"["https://a","https://b"]"#),
            vec!["https://a", "https://b"]
        );
        assert_eq!(
            parse_list("https://a, https://b"),
            vec!["https://a", "https://b"]
        );
    }
}
