//! The coin balance, the ledger and the packages on sale.

use axum::{Router, extract::State, routing::get};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiQuery, ApiResult},
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/credits/balance", get(balance))
        .route("/credits/transactions", get(transactions))
        .route("/credits/packages", get(packages))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BalanceResponse {
    user_id: String,
    balance: i32,
    /// New: coins held by running unlocks.
    held: i64,
    /// New: `balance - held`, what an unlock can spend now.
    available: i64,
}

/// The signed-in user's coin balance.
#[utoipa::path(get, path = "/api/credits/balance", tag = "credits", security(("bearer" = [])),
    responses((status = 200, body = BalanceResponse)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id), err(Debug))]
pub(crate) async fn balance(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<BalanceResponse>> {
    let mut conn = state.pool.acquire().await?;
    let coins = relivchats_store::coins(&mut conn, user.user_id.as_str())
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(ApiJson(BalanceResponse {
        user_id: user.user_id.to_string(),
        balance: coins.balance,
        held: coins.held,
        available: coins.available(),
    }))
}

/// Out-of-range values are refused with a 422, not clamped.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// ≥ 0, default 0.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub(crate) struct TransactionResponse {
    id: Uuid,
    /// `signup_bonus`, `purchase`, `insight_unlock`, `refund`, `admin_adjustment`, `payment_refund`.
    #[sqlx(rename = "type")]
    r#type: String,
    /// Signed: negative for debits.
    amount: i32,
    balance_after: i32,
    description: Option<String>,
    status: String,
    created_at: DateTime<Utc>,
    chat_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TransactionsResponse {
    transactions: Vec<TransactionResponse>,
    total_count: i64,
    current_balance: i32,
}

fn out_of_range(field: &str, rule: &str) -> ApiError {
    ApiError::invalid_field(
        format!("query.{field}"),
        rule,
        format!("The query parameter '{field}' must be {rule}."),
    )
}

/// The signed-in user's ledger, newest first.
#[utoipa::path(get, path = "/api/credits/transactions", tag = "credits", params(Page), security(("bearer" = [])),
    responses((status = 200, body = TransactionsResponse)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id), err(Debug))]
pub(crate) async fn transactions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<TransactionsResponse>> {
    let limit = page.limit.unwrap_or(50);
    let offset = page.offset.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(out_of_range("limit", "between 1 and 100"));
    }
    if offset < 0 {
        return Err(out_of_range("offset", "zero or more"));
    }
    let uid = user.user_id.as_str();
    let transactions = sqlx::query_as(
        r#"SELECT id, type, amount, balance_after, description, status, created_at, chat_id
           FROM credit_transactions WHERE user_id = $1
           ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"#,
    )
    .bind(uid)
    .bind(limit)
    .bind(offset)
    .fetch_all(&state.pool)
    .await?;
    let (total_count, current_balance): (i64, i32) = sqlx::query_as(
        r#"SELECT (SELECT COUNT(*) FROM credit_transactions WHERE user_id = $1), credit_balance
           FROM users WHERE user_id = $1"#,
    )
    .bind(uid)
    .fetch_one(&state.pool)
    .await?;
    Ok(ApiJson(TransactionsResponse {
        transactions,
        total_count,
        current_balance,
    }))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub(crate) struct PackageResponse {
    id: Uuid,
    name: String,
    coins: i32,
    /// A decimal string such as "4.99".
    price_usd: String,
    /// A decimal string such as "399.00".
    price_inr: String,
    description: Option<String>,
    is_popular: bool,
    sort_order: i32,
}

/// The coin packages on sale.
#[utoipa::path(get, path = "/api/credits/packages", tag = "credits",
    responses((status = 200, body = Vec<PackageResponse>)))]
#[tracing::instrument(skip_all, err(Debug))]
pub(crate) async fn packages(
    State(state): State<AppState>,
) -> ApiResult<ApiJson<Vec<PackageResponse>>> {
    let packages = sqlx::query_as(
        r#"SELECT id, name, coins, price_usd::TEXT AS price_usd, price_inr::TEXT AS price_inr,
                  description, is_popular, sort_order
           FROM credit_packages WHERE is_active ORDER BY sort_order, name"#,
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(packages))
}
