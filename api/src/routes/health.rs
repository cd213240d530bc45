//! Liveness, readiness and pool statistics.

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{AppState, error::ErrorInfo};

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/health/ready", get(ready))
        .route("/health/db-pool", get(db_pool))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RootResponse {
    message: &'static str,
    version: &'static str,
    docs: &'static str,
}

/// Names the service and where its docs are.
#[utoipa::path(get, path = "/", tag = "health", responses((status = 200, body = RootResponse)))]
pub(crate) async fn root() -> Json<RootResponse> {
    Json(RootResponse {
        message: "RelivChats API",
        version: VERSION,
        docs: "/docs",
    })
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HealthResponse {
    status: &'static str,
    environment: String,
    version: &'static str,
}

/// Liveness: the process answers. It checks nothing else (see `/health/ready`).
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = HealthResponse)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "healthy",
        environment: state.settings.environment.clone(),
        version: VERSION,
    })
}

/// One dependency's state in `/health/ready`.
#[derive(Serialize, ToSchema)]
pub(crate) struct CheckResult {
    /// `ok` or `down`.
    status: &'static str,
    /// Why it is down (for operators).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `/health/ready` when every dependency answered.
#[derive(Serialize, ToSchema)]
pub(crate) struct Ready {
    /// `ready`.
    status: &'static str,
    /// By dependency: `postgres`, `temporal`, …
    checks: BTreeMap<&'static str, CheckResult>,
}

/// `/health/ready` when a dependency is down: the one error body's `detail` and `error`, with
/// the checks beside them.
#[derive(Serialize, ToSchema)]
pub(crate) struct NotReady {
    /// `not_ready`.
    status: &'static str,
    /// Names what is down.
    detail: String,
    checks: BTreeMap<&'static str, CheckResult>,
    error: ErrorInfo,
}

/// Readiness: Postgres and every other dependency (Temporal …) answer. 503 names what is down.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, description = "Every dependency answered", body = Ready),
    (status = 503, description = "A dependency is down; `detail` names it", body = NotReady),
))]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = BTreeMap::new();
    let mut down = Vec::new();
    let db = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool),
    )
    .await;
    let db = match db {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 3 s".to_owned()),
    };
    let mut results = vec![("postgres", db)];
    for dep in state.dependencies.iter() {
        let r = tokio::time::timeout(std::time::Duration::from_secs(3), dep.check())
            .await
            .unwrap_or_else(|_| Err("no answer within 3 s".to_owned()));
        results.push((dep.name(), r));
    }
    for (name, result) in results {
        let entry = match result {
            Ok(()) => CheckResult {
                status: "ok",
                reason: None,
            },
            Err(reason) => {
                down.push(format!("{name} ({reason})"));
                CheckResult {
                    status: "down",
                    reason: Some(reason),
                }
            }
        };
        checks.insert(name, entry);
    }
    if down.is_empty() {
        return (
            StatusCode::OK,
            Json(Ready {
                status: "ready",
                checks,
            }),
        )
            .into_response();
    }
    let detail = format!("Not ready: {} is down.", down.join(", "));
    let body = NotReady {
        status: "not_ready",
        error: ErrorInfo::new("ERR_2002", detail.clone(), None),
        detail,
        checks,
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PoolResponse {
    pool_type: &'static str,
    pooling_enabled: bool,
    pool_size: u32,
    checked_out: u32,
    checked_in: u32,
    overflow: u32,
    total_connections: u32,
    available: u32,
    status: &'static str,
}

/// Connection-pool statistics of this process.
#[utoipa::path(get, path = "/health/db-pool", tag = "health", responses((status = 200, body = PoolResponse)))]
pub(crate) async fn db_pool(State(state): State<AppState>) -> Json<PoolResponse> {
    let pool = &state.pool;
    let max = pool.options().get_max_connections();
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    let checked_out = size.saturating_sub(idle);
    let available = max.saturating_sub(checked_out);
    Json(PoolResponse {
        pool_type: "sqlx::PgPool",
        pooling_enabled: true,
        pool_size: max,
        checked_out,
        checked_in: idle,
        overflow: 0,
        total_connections: size,
        available,
        // Warn when fewer than a fifth of the connections are free.
        status: if available * 5 < max {
            "warning"
        } else {
            "healthy"
        },
    })
}
