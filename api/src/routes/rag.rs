//! `POST /api/rag/query`: semantic search over one of the caller's chats, returning the best
//! excerpts with their scores.
//!
//! A chat is indexed when its first unlock runs (the saga's `index_chat` step); asking
//! before that is a 409 that says so, rather than an on-demand indexing run inside an HTTP
//! request (a 100k-message chat takes longer than a request should, and the worker owns it).

use axum::{Router, extract::State, routing::post};
use relivchats_domain::{
    retrieval::{EmbedPurpose, ProviderError, VectorQuery},
    status::VectorStatus,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState, Retrieval,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiResult, ErrorBody},
};

/// Most excerpts one query may ask for.
const MAX_TOP_K: usize = 50;
/// Longest question accepted, in characters.
const MAX_QUESTION: usize = 2_000;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/rag/query", post(rag_query))
}

/// Fields not listed here are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RagQueryRequest {
    chat_id: Uuid,
    /// What to look for, in the chat's own words if possible ("plans for the trip"): 1 to
    /// 2000 characters, not all whitespace (it is trimmed before the search).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    question: String,
    /// 1–50; default `RAG_TOP_K`.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 50)]
    top_k: Option<usize>,
}

/// JSON Schema's `integer` includes `3.0`, serde's `usize` does not: any number without a
/// fractional part is accepted, so the handler takes what its document promises. A negative
/// number becomes 0, which the range check then refuses with its own sentence.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(u) = n.as_u64() {
        return Ok(Some(usize::try_from(u).unwrap_or(usize::MAX)));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 => Ok(Some(if f < 0.0 { 0 } else { f as usize })),
        _ => Err(serde::de::Error::custom("top_k must be a whole number")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RagExcerpt {
    chunk_index: u32,
    /// Higher is better; comparable within one response only.
    score: f32,
    /// The passage as indexed: `[YYYY-MM-DD HH:MM] Name: message` lines.
    text: String,
    speakers: Vec<String>,
    message_count: i64,
    start_timestamp: Option<String>,
    end_timestamp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RagQueryResponse {
    chat_id: Uuid,
    question: String,
    excerpts: Vec<RagExcerpt>,
}

fn validation(field: &str, rule: &str) -> ApiError {
    ApiError::invalid_field(
        format!("body.{field}"),
        rule,
        format!("The field '{field}' {rule}."),
    )
}

fn provider_error(e: ProviderError) -> ApiError {
    tracing::warn!(error = %e, "retrieval failed");
    ApiError::ServiceUnavailable(
        "Search is unavailable right now. Please try again in a moment.".to_owned(),
    )
}

/// The best passages of one of the caller's chats for a question.
#[utoipa::path(post, path = "/api/rag/query", tag = "rag", security(("bearer" = [])),
    request_body = RagQueryRequest,
    responses((status = 200, body = RagQueryResponse),
        (status = 404, body = ErrorBody, description = "No such chat for this user"),
        (status = 409, body = ErrorBody, description = "The chat is not indexed yet (unlock insights first)"), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, chat_id = %body.chat_id), err(Debug))]
pub(crate) async fn rag_query(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<RagQueryRequest>,
) -> ApiResult<ApiJson<RagQueryResponse>> {
    let question = body.question.trim().to_owned();
    if question.is_empty() || question.chars().count() > MAX_QUESTION {
        return Err(validation(
            "question",
            "must be between 1 and 2000 characters",
        ));
    }
    let retrieval = state.retrieval.clone().ok_or_else(|| {
        ApiError::ServiceUnavailable("Search is not configured on this server.".to_owned())
    })?;
    let top_k = body.top_k.unwrap_or(retrieval.top_k);
    if !(1..=MAX_TOP_K).contains(&top_k) {
        return Err(validation("top_k", "must be between 1 and 50"));
    }
    let status: Option<VectorStatus> = sqlx::query_scalar(
        "SELECT vector_status FROM chats WHERE id = $1 AND user_id = $2 AND NOT is_deleted",
    )
    .bind(body.chat_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?;
    match status {
        None => return Err(ApiError::not_found("Chat")),
        Some(VectorStatus::Completed) => {}
        Some(_) => {
            return Err(ApiError::Conflict(
                "This chat is not indexed for search yet. It is indexed when its first insights are unlocked; try again once that has run.".to_owned(),
            ));
        }
    }
    let excerpts = search(&state, &retrieval, body.chat_id, &question, top_k).await?;
    Ok(ApiJson(RagQueryResponse {
        chat_id: body.chat_id,
        question,
        excerpts,
    }))
}

async fn search(
    state: &AppState,
    retrieval: &Retrieval,
    chat_id: Uuid,
    question: &str,
    top_k: usize,
) -> ApiResult<Vec<RagExcerpt>> {
    let dense = retrieval
        .embedder
        .embed(&[question.to_owned()], EmbedPurpose::Query)
        .await
        .map_err(provider_error)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the embedder returned no vector")))?;
    let hits = retrieval
        .store
        .query(VectorQuery {
            chat_id,
            dense,
            text: question.to_owned(),
            limit: top_k,
        })
        .await
        .map_err(provider_error)?;
    let indices: Vec<i32> = hits.iter().map(|h| h.chunk_index as i32).collect();
    let rows: Vec<(i32, String, Option<String>)> = sqlx::query_as(
        "SELECT chunk_index, chunk_text, chunk_metadata FROM message_chunks WHERE chat_id = $1 AND chunk_index = ANY($2)",
    )
    .bind(chat_id)
    .bind(&indices)
    .fetch_all(&state.pool)
    .await?;
    let internal = |e: relivchats_domain::crypto::CipherError| ApiError::Internal(e.into());
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        let Some((_, text, meta)) = rows.iter().find(|r| r.0 as u32 == hit.chunk_index) else {
            continue;
        };
        let meta: serde_json::Value = match meta {
            Some(m) => state.cipher.decrypt_json(m).map_err(internal)?,
            None => serde_json::Value::Null,
        };
        out.push(RagExcerpt {
            chunk_index: hit.chunk_index,
            score: hit.score,
            text: state.cipher.decrypt(text).map_err(internal)?,
            speakers: serde_json::from_value(meta["speakers"].clone()).unwrap_or_default(),
            message_count: meta["message_count"].as_i64().unwrap_or(0),
            start_timestamp: meta["start_timestamp"].as_str().map(str::to_owned),
            end_timestamp: meta["end_timestamp"].as_str().map(str::to_owned),
        });
    }
    Ok(out)
}

/// Removes the chats' vectors before their rows go (spec §9: deleting a chat removes its
/// vectors). Done first, so a store that is down leaves the chat in place (503, try again)
/// rather than vectors nobody can delete any more.
pub(crate) async fn remove_vectors(state: &AppState, chat_ids: &[Uuid]) -> ApiResult<()> {
    let Some(retrieval) = &state.retrieval else {
        return Ok(());
    };
    for chat_id in chat_ids {
        retrieval.store.delete_chat(*chat_id).await.map_err(|e| {
            tracing::error!(error = %e, %chat_id, "could not delete a chat's vectors");
            ApiError::ServiceUnavailable(
                "The chat could not be deleted completely right now. Nothing was removed; please try again in a moment.".to_owned(),
            )
        })?;
    }
    Ok(())
}
