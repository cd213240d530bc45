//! `GET /api/insights/chats/{chat_id}`: what the user reads once an unlock has run, the
//! insights decrypted and in the category's display order.

use axum::extract::State;
use chrono::{DateTime, Utc};
use relivchats_domain::status::{GenerationStatus, InsightStatus};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InsightResponse {
    id: Uuid,
    chat_id: Uuid,
    insight_type_id: Uuid,
    /// Picks the frontend view, e.g. `conflict_resolution`.
    insight_type_name: String,
    display_title: String,
    description: Option<String>,
    icon: String,
    is_premium: bool,
    /// The insight (the type's JSON schema), `null` until completed.
    #[schema(value_type = Object)]
    content: Value,
    /// `pending`, `generating`, `completed` or `failed`.
    status: String,
    error_message: Option<String>,
    #[schema(value_type = Object)]
    generation_metadata: Value,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChatInsightsResponse {
    chat_id: Uuid,
    #[schema(value_type = Object)]
    category: Value,
    generation_status: String,
    unlocked_at: Option<DateTime<Utc>>,
    total_requested: i32,
    total_completed: i32,
    total_failed: i32,
    insights: Vec<InsightResponse>,
}

#[derive(Debug, sqlx::FromRow)]
struct InsightRow {
    id: Uuid,
    insight_type_id: Uuid,
    name: String,
    display_title: String,
    description: Option<String>,
    icon: Option<String>,
    is_premium: bool,
    content: Option<String>,
    status: InsightStatus,
    error_message: Option<String>,
    tokens_used: i32,
    generation_time_ms: i32,
    rag_chunks_used: i32,
    model_used: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A chat's insights (of its current category, in display order) and the generation status.
#[utoipa::path(get, path = "/api/insights/chats/{chat_id}", tag = "insights", security(("bearer" = [])),
    params(("chat_id" = Uuid, Path)),
    responses((status = 200, body = ChatInsightsResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn chat_insights(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(chat_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ChatInsightsResponse>> {
    type ChatRow = (
        Option<Uuid>,
        GenerationStatus,
        Option<DateTime<Utc>>,
        i32,
        i32,
        i32,
    );
    let (category_id, status, unlocked_at, requested, completed, failed): ChatRow = sqlx::query_as(
        r#"SELECT category_id, insights_generation_status, insights_unlocked_at, total_insights_requested,
                  total_insights_completed, total_insights_failed
           FROM chats WHERE id = $1 AND user_id = $2 AND NOT is_deleted"#,
    )
    .bind(chat_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Chat"))?;
    let category = match category_id {
        Some(id) => sqlx::query_as::<_, (Uuid, String, String, Option<String>)>(
            "SELECT id, name, display_name, icon FROM analysis_categories WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .map_or(Value::Null, |(id, name, display_name, icon)| {
            json!({"id": id, "name": name, "display_name": display_name, "icon": icon})
        }),
        None => Value::Null,
    };
    let rows: Vec<InsightRow> = sqlx::query_as(
        r#"SELECT i.id, i.insight_type_id, t.name, t.display_title, t.description, t.icon, t.is_premium,
                  i.content, i.status, i.error_message, i.tokens_used, i.generation_time_ms, i.rag_chunks_used,
                  i.model_used, i.created_at, i.updated_at
           FROM insights i
           JOIN insight_types t ON t.id = i.insight_type_id
           LEFT JOIN category_insight_types cit ON cit.insight_type_id = t.id AND cit.category_id = $2
           WHERE i.chat_id = $1
           ORDER BY (cit.category_id IS NULL), cit.display_order, t.name"#,
    )
    .bind(chat_id)
    .bind(category_id)
    .fetch_all(&state.pool)
    .await?;
    let mut insights = Vec::with_capacity(rows.len());
    for r in rows {
        let content = match &r.content {
            Some(c) => state
                .cipher
                .decrypt_json(c)
                .map_err(|e| ApiError::Internal(e.into()))?,
            None => Value::Null,
        };
        insights.push(InsightResponse {
            id: r.id,
            chat_id,
            insight_type_id: r.insight_type_id,
            insight_type_name: r.name,
            display_title: r.display_title,
            description: r.description,
            icon: r.icon.unwrap_or_default(),
            is_premium: r.is_premium,
            content,
            status: r.status.to_string(),
            error_message: r.error_message,
            generation_metadata: json!({
                "rag_chunks_used": r.rag_chunks_used,
                "tokens_used": r.tokens_used,
                "generation_time_ms": r.generation_time_ms,
                "model_used": r.model_used,
                "confidence_score": null,
            }),
            created_at: r.created_at,
            updated_at: Some(r.updated_at),
        });
    }
    Ok(ApiJson(ChatInsightsResponse {
        chat_id,
        category,
        generation_status: status.to_string(),
        unlocked_at,
        total_requested: requested,
        total_completed: completed,
        total_failed: failed,
        insights,
    }))
}
