//! Clerk's webhooks (through Svix): `user.deleted` removes the user's data exactly as
//! `DELETE /api/users/delete-account` does. Verified on the raw body (signature and a ±5 min
//! timestamp window), recorded once per `svix-id` in `webhook_events`, so a redelivery or a
//! replay changes nothing.

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::HeaderMap,
};
use relivchats_domain::webhooks::{SvixHeaders, verify_svix};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::payments::storable;
use crate::{
    AppState,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClerkAck {
    status: &'static str,
    /// `user_deleted`, `unknown_user`, `ignored` or `duplicate`.
    outcome: String,
}

fn header<'a>(headers: &'a HeaderMap, names: [&str; 2]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
}

/// Clerk events. `user.deleted` deletes the user's chats, messages, insights and vectors and
/// marks the account deleted (ledger and payments kept); other events are acknowledged.
#[utoipa::path(post, path = "/api/webhooks/clerk", tag = "users",
    params(("svix-id" = String, Header), ("svix-timestamp" = String, Header),
           ("svix-signature" = String, Header, description = "v1,<base64 HMAC-SHA256>, space-separated")),
    request_body(content = Object, content_type = "application/json", description = "The provider's event as it sent it; the signature is checked on these exact bytes. A correctly signed event that cannot be used is acknowledged (200) and kept for an operator."),
    responses((status = 200, body = ClerkAck), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, err(Debug))]
pub(crate) async fn clerk_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<ClerkAck>> {
    let result = receive(&state, &headers, body).await;
    crate::metrics::count_delivery(&state.metrics, "clerk", result, |ack: &ClerkAck| {
        &ack.outcome
    })
}

async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<ApiJson<ClerkAck>> {
    let body = super::raw_body(body)?;
    let secret = state
        .settings
        .clerk_webhook_secret
        .as_ref()
        .ok_or_else(|| {
            ApiError::ServiceUnavailable(
                "Clerk webhooks are not configured on this server (set CLERK_WEBHOOK_SECRET)."
                    .to_owned(),
            )
        })?;
    let svix = SvixHeaders {
        id: header(headers, ["svix-id", "webhook-id"]),
        timestamp: header(headers, ["svix-timestamp", "webhook-timestamp"]),
        signature: header(headers, ["svix-signature", "webhook-signature"]),
    };
    let message_id = verify_svix(secret.expose(), svix, &body, chrono::Utc::now().timestamp())
        .map_err(|e| {
            tracing::warn!(reason = %e, "Clerk webhook rejected");
            ApiError::BadRequest(format!("Invalid Clerk webhook: {e}."))
        })?
        .to_owned();
    // Stored as jsonb, which refuses U+0000: such characters are replaced, not a 500.
    let event = storable(serde_json::from_slice::<Value>(&body).unwrap_or_default());
    let kind = event["type"].as_str().unwrap_or("unknown").to_owned();
    let first: bool = sqlx::query_scalar(
        r#"INSERT INTO webhook_events (id, provider, event_id, event_type, payload)
           VALUES ($1, 'clerk', $2, $3, $4)
           ON CONFLICT (provider, event_id) DO NOTHING
           RETURNING TRUE"#,
    )
    .bind(Uuid::new_v4())
    .bind(&message_id)
    .bind(&kind)
    .bind(&event)
    .fetch_optional(&state.pool)
    .await?
    .unwrap_or(false);
    if !first {
        return Ok(ack("duplicate"));
    }
    let outcome = match (kind.as_str(), event["data"]["id"].as_str()) {
        ("user.deleted", Some(user_id)) => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)")
                    .bind(user_id)
                    .fetch_one(&state.pool)
                    .await?;
            if exists {
                let (_, chats) = super::users::delete_user_data(state, user_id, false).await?;
                tracing::info!(
                    chats,
                    "user deleted in Clerk: their data is deleted here too"
                );
                "user_deleted"
            } else {
                "unknown_user"
            }
        }
        _ => "ignored",
    };
    sqlx::query(
        "UPDATE webhook_events SET processed_at = now(), outcome = $2 WHERE provider = 'clerk' AND event_id = $1",
    )
    .bind(&message_id)
    .bind(outcome)
    .execute(&state.pool)
    .await?;
    Ok(ack(outcome))
}

fn ack(outcome: &str) -> ApiJson<ClerkAck> {
    ApiJson(ClerkAck {
        status: "ok",
        outcome: outcome.to_owned(),
    })
}
