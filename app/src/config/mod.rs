//! Typed configuration, read once from the environment (and a `.env` file in development).
//!
//! Every variable is documented in `.env.example`. Secrets are held in [`Secret`], whose
//! `Debug` never prints them. Nothing here is global: tests build a [`Config`] from a map.

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};

mod limits;
mod metrics;
#[cfg(test)]
mod tests;
mod vars;

use limits::{http_timeouts, message_blocks, rate_limits, unlock_timings};
use metrics::metrics_config;
pub use metrics::{DEFAULT_METRICS_ADDR, MetricsConfig, MetricsListener};
use relivchats_api::{
    ApiSettings, ClerkApi,
    auth::{AuthSettings, ClerkSettings, Secret},
};
use relivchats_domain::contracts::DEFAULT_TASK_QUEUE;
#[cfg(test)]
pub(crate) use vars::map;
use vars::{local_secret, parse_bool, parse_list, random_hex};
pub(crate) use vars::{lookup, parse_num};

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
