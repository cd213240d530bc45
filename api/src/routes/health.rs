//! Liveness, readiness and pool statistics.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::{AppState, middleware::current_request_id};

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

/// Readiness: Postgres and every other dependency (Temporal …) answer. 503 names what is down.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, description = "Every dependency answered", body = Object),
    (status = 503, description = "A dependency is down; `detail` names it", body = Object),
))]
pub(crate) async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let mut checks = serde_json::Map::new();
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
            Ok(()) => json!({"status": "ok"}),
            Err(reason) => {
                down.push(format!("{name} ({reason})"));
                json!({"status": "down", "reason": reason})
            }
        };
        checks.insert(name.to_owned(), entry);
    }
    if down.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "checks": checks})),
        )
    } else {
        let detail = format!("Not ready: {} is down.", down.join(", "));
        let body: Value = json!({
            "status": "not_ready",
            "detail": detail,
            "checks": checks,
            "error": {"code": "ERR_2002", "message": detail, "request_id": current_request_id()},
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
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
