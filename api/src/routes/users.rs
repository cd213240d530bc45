//! Users: sign-in sync and account deletion.

use axum::{
    Router,
    extract::State,
    routing::{delete, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    AppState,
    auth::{AuthClaims, AuthUser},
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
    ledger,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/users/store", post(store_user))
        .route("/users/delete-account", delete(delete_account))
        .route("/webhooks/clerk", post(super::clerk_webhook::clerk_webhook))
}

/// What the frontend sends on every sign-in. Fields not listed here are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UserStore {
    /// Must equal the token's `sub` (else 403).
    user_id: String,
    /// An address with an `@`, at most 320 characters, no NUL; blank or absent keeps the
    /// token's email (or the stored one).
    #[serde(default)]
    #[schema(
        max_length = 320,
        pattern = r"^([^\u0000]*@[^\u0000]*|[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)$"
    )]
    email: Option<String>,
    /// Accepted for compatibility; not stored.
    #[serde(default)]
    #[allow(dead_code)]
    first_name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    last_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserOut {
    user_id: String,
    email: Option<String>,
    created_at: DateTime<Utc>,
    /// Already includes the signup bonus.
    credit_balance: i32,
}

/// Creates the signed-in user (with the 50-coin signup bonus, once) or returns it; reactivates
/// a deleted account. The token's `sub` is the only identity: a different `user_id` is a 403.
#[utoipa::path(post, path = "/api/users/store", tag = "users", request_body = UserStore,
    security(("bearer" = [])),
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %claims.0.user_id), err(Debug))]
pub(crate) async fn store_user(
    State(state): State<AppState>,
    claims: AuthClaims,
    ApiJson(body): ApiJson<UserStore>,
) -> ApiResult<ApiJson<UserOut>> {
    let token = claims.0;
    if body.user_id != token.user_id.as_str() {
        return Err(ApiError::Forbidden(
            "The user_id in the request does not match the signed-in user.".to_owned(),
        ));
    }
    let email = body
        .email
        .as_deref()
        .or(token.email.as_deref())
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if email.is_some_and(|e| e.chars().count() > 320 || !e.contains('@')) {
        return Err(ApiError::invalid_field(
            "body.email",
            "not an email address",
            "The email address is not valid.",
        ));
    }
    ledger::ensure_user(&state.pool, &token.user_id, email).await?;
    let user: ledger::UserRow = sqlx::query_as(
        r#"UPDATE users
           SET email = COALESCE($2, email), is_deleted = FALSE, deleted_at = NULL, updated_at = now()
           WHERE user_id = $1
           RETURNING user_id, email, credit_balance, created_at, is_deleted"#,
    )
    .bind(token.user_id.as_str())
    .bind(email)
    .fetch_one(&state.pool)
    .await?;
    Ok(ApiJson(UserOut {
        user_id: user.user_id,
        email: user.email,
        created_at: user.created_at,
        credit_balance: user.credit_balance,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserDeleteResponse {
    success: bool,
    message: &'static str,
    deleted_at: DateTime<Utc>,
    user_id: String,
    chats_deleted: i64,
}

/// Deletes the account: every chat (with its messages, chunks and insights) is removed, the
/// email is forgotten and the user is marked deleted. The coin ledger and payment records are
/// kept, as accounting requires. The Clerk user is deleted too when Clerk is configured.
#[utoipa::path(delete, path = "/api/users/delete-account", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserDeleteResponse)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id), err(Debug))]
pub(crate) async fn delete_account(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<UserDeleteResponse>> {
    let (deleted_at, chats_deleted) = delete_user_data(&state, user.user_id.as_str(), true).await?;
    Ok(ApiJson(UserDeleteResponse {
        success: true,
        message: "Account deleted successfully",
        deleted_at,
        user_id: user.user_id.to_string(),
        chats_deleted,
    }))
}

/// What deleting an account removes (see [`delete_account`]); shared with Clerk's
/// `user.deleted` webhook, which passes `in_clerk: false` (the Clerk user is already gone).
/// The user row must exist. Returns when the user was marked deleted and how many chats went;
/// deleting twice changes nothing more.
pub(crate) async fn delete_user_data(
    state: &AppState,
    user_id: &str,
    in_clerk: bool,
) -> ApiResult<(DateTime<Utc>, i64)> {
    let chat_ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM chats WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&state.pool)
        .await?;
    super::rag::remove_vectors(state, &chat_ids).await?;
    let mut tx = state.pool.begin().await?;
    let chats_deleted = sqlx::query("DELETE FROM chats WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let deleted_at: DateTime<Utc> = sqlx::query_scalar(
        r#"UPDATE users SET is_deleted = TRUE, deleted_at = COALESCE(deleted_at, now()), email = NULL,
                  updated_at = now()
           WHERE user_id = $1 RETURNING deleted_at"#,
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if in_clerk && let Some(clerk) = &state.settings.clerk_api {
        // Best effort: our data is already gone; a Clerk failure is logged for an operator.
        let url = format!(
            "{}/v1/users/{user_id}",
            clerk.base_url.trim_end_matches('/')
        );
        match state
            .http
            .delete(&url)
            .bearer_auth(clerk.secret_key.expose())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() || r.status() == 404 => {}
            Ok(r) => tracing::warn!(status = %r.status(), "Clerk refused to delete the user"),
            Err(e) => tracing::warn!(error = %e, "Clerk could not be reached to delete the user"),
        }
    }
    Ok((deleted_at, i64::try_from(chats_deleted).unwrap_or(i64::MAX)))
}
