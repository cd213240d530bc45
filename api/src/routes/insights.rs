//! Insights: unlock a category (start the `UnlockInsights` saga), follow the job, read the
//! insights, retry a failed one for free.

use std::time::Duration;

use axum::{
    Router,
    extract::State,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use relivchats_domain::{
    catalogue::allows_participants,
    contracts::{
        search_attributes,
        unlock::{
            InsightTypeRef, MAX_FREE_RETRIES, ProgressQuery, RetryInput, RetryInsightDefinition,
            UnlockInput, UnlockInsightsDefinition, UnlockProgress, retry_workflow_id,
            unlock_workflow_id,
        },
    },
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowQueryOptions, WorkflowStartOptions,
    errors::WorkflowStartError,
};
use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributes};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/insights/unlock", post(unlock))
        .route("/insights/jobs/{job_id}/status", get(job_status))
        .route("/insights/chats/{chat_id}", get(chat_insights))
        .route("/insights/{insight_id}/retry", post(retry_insight))
}

/// Fields not listed here are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UnlockRequest {
    chat_id: Uuid,
    category_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnlockResponse {
    success: bool,
    job_id: String,
    /// The price of the unlock. Held while the insights are generated; only the share of the
    /// insights actually delivered is finally charged.
    coins_deducted: i32,
    /// The coin reservation (the ledger row appears when it is captured).
    transaction_id: String,
    /// Coins still available after this hold.
    remaining_balance: i64,
    total_insights: usize,
    estimated_time_seconds: Option<u64>,
    message: String,
    poll_url: String,
    /// The chat was not indexed yet and is indexed first.
    indexed_on_demand: bool,
    /// New: the Temporal workflow running this unlock (operators find it by this id).
    workflow_id: String,
    /// New: `queued` or `running` (an identical request while one runs returns the same job).
    status: String,
}

#[derive(Debug, sqlx::FromRow)]
struct ChatForUnlock {
    participant_count: i32,
    vector_status: String,
    insights_generation_status: String,
    category_id: Option<Uuid>,
}

#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    job_id: String,
    workflow_id: String,
    chat_id: Uuid,
    category_id: Uuid,
    reservation_id: Option<Uuid>,
    status: String,
    total_insights: i32,
    completed_insights: i32,
    failed_insights: i32,
    coins_reserved: i32,
    coins_charged: i32,
    coins_refunded: i32,
    error_message: Option<String>,
    started_at: Option<DateTime<Utc>>,
    estimated_completion_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

const JOB_COLUMNS: &str = r#"job_id, workflow_id, chat_id, category_id, reservation_id, status, total_insights,
    completed_insights, failed_insights, coins_reserved, coins_charged, coins_refunded, error_message,
    started_at, estimated_completion_at, completed_at, created_at"#;

/// Typed keys of the custom search attributes set when an unlock starts.
const USER_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword(search_attributes::USER_ID);
const CHAT_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword(search_attributes::CHAT_ID);
const CATEGORY: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::CATEGORY);
const UNLOCK_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(search_attributes::UNLOCK_STATUS);

/// An insight type of the category being unlocked: what the unlock needs of it.
#[derive(Debug, sqlx::FromRow)]
struct UnlockType {
    id: Uuid,
    name: String,
    display_title: String,
    supports_group_chats: bool,
    max_participants: Option<i32>,
}

async fn load_types(state: &AppState, category_id: Uuid) -> ApiResult<Vec<UnlockType>> {
    Ok(sqlx::query_as(
        r#"SELECT t.id, t.name, t.display_title, t.supports_group_chats, t.max_participants
           FROM category_insight_types cit JOIN insight_types t ON t.id = cit.insight_type_id
           WHERE cit.category_id = $1 AND t.is_active ORDER BY cit.display_order, t.name"#,
    )
    .bind(category_id)
    .fetch_all(&state.pool)
    .await?)
}

/// Unlocks a category's insights for a chat: coins are held, the insights generated in a
/// durable workflow, and only what was delivered is charged. Insufficient coins → 402 (nothing
/// held); the same request while one runs → the same job; an unlocked category → 409.
#[utoipa::path(post, path = "/api/insights/unlock", tag = "insights", request_body = UnlockRequest,
    security(("bearer" = [])),
    responses((status = 200, body = UnlockResponse), (status = 402, body = ErrorBody, description = "Not enough coins: {required, available, deficit}"),
        (status = 403, body = ErrorBody, description = "The account is on hold (a reversed payment)"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "Already unlocked, another unlock running, or the chat does not fit the category"),
        (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, chat_id = %body.chat_id, category_id = %body.category_id), err(Debug))]
pub(crate) async fn unlock(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<UnlockRequest>,
) -> ApiResult<ApiJson<UnlockResponse>> {
    let chat: ChatForUnlock = sqlx::query_as(
        r#"SELECT participant_count, vector_status, insights_generation_status, category_id FROM chats
           WHERE id = $1 AND user_id = $2 AND NOT is_deleted AND status = 'completed'"#,
    )
    .bind(body.chat_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Chat"))?;
    let (slug, display_name, price): (String, String, i32) =
        sqlx::query_as("SELECT name, display_name, credit_cost FROM analysis_categories WHERE id = $1 AND is_active")
            .bind(body.category_id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or_else(|| ApiError::not_found("Category"))?;
    let types = load_types(&state, body.category_id).await?;
    if types.is_empty() {
        return Err(ApiError::NotFound(format!(
            "The {display_name} category has no insights to unlock."
        )));
    }
    let refused: Vec<&str> = types
        .iter()
        .filter(|t| {
            !allows_participants(
                t.supports_group_chats,
                t.max_participants,
                chat.participant_count,
            )
        })
        .map(|t| t.display_title.as_str())
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::Conflict(format!(
            "This chat has {} participants, but {} in {display_name} only work for a chat between two people. Nothing was charged: choose a category made for groups, such as Family or Workplace.",
            chat.participant_count,
            refused.join(", ")
        )));
    }
    if let Some(job) = latest_job(&state, body.chat_id, body.category_id).await? {
        match job.status.as_str() {
            "queued" | "running" => return attach(&state, &user, job, &slug, &types, &chat).await,
            // A settled unlock that took coins stays unlocked; one that charged nothing (more
            // than half failed) may be unlocked again, or the user would be stuck with it.
            "completed" | "partial_failure" if job.coins_charged > 0 => {
                return Err(ApiError::Conflict(format!(
                    "The {display_name} insights of this chat are already unlocked (job {}). Failed insights can be retried for free.",
                    job.job_id
                )));
            }
            _ => {}
        }
    }
    if matches!(
        chat.insights_generation_status.as_str(),
        "queued" | "generating"
    ) && chat.category_id != Some(body.category_id)
    {
        return Err(another_unlock_running());
    }
    let (job, created) =
        match create_job(&state, &user, body.chat_id, body.category_id, price, &types).await? {
            Some(job) => (job, true),
            // A concurrent request's job won the one-active-unlock-per-chat index: the same
            // category attaches to it, another category waits.
            None => match latest_job(&state, body.chat_id, body.category_id).await? {
                Some(job) if matches!(job.status.as_str(), "queued" | "running") => (job, false),
                _ => return Err(another_unlock_running()),
            },
        };
    let response = attach(&state, &user, job, &slug, &types, &chat).await?;
    // A new job whose workflow started (a failed start releases the hold at once): counted
    // once, not on attaches.
    if created {
        state.metrics.unlock_started();
    }
    Ok(response)
}

fn another_unlock_running() -> ApiError {
    ApiError::Conflict(
        "Another category is being unlocked for this chat. Wait for it to finish, then try again."
            .to_owned(),
    )
}

async fn latest_job(
    state: &AppState,
    chat_id: Uuid,
    category_id: Uuid,
) -> ApiResult<Option<JobRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM insight_generation_jobs WHERE chat_id = $1 AND category_id = $2 ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(chat_id)
    .bind(category_id)
    .fetch_optional(&state.pool)
    .await?)
}

async fn available_coins(state: &AppState, user: &AuthUser) -> ApiResult<i64> {
    Ok(sqlx::query_scalar(
        r#"SELECT u.credit_balance::BIGINT - COALESCE((SELECT SUM(amount) FROM coin_reservations r
                  WHERE r.user_id = u.user_id AND r.status = 'held'), 0)::BIGINT
           FROM users u WHERE u.user_id = $1"#,
    )
    .bind(user.user_id.as_str())
    .fetch_one(&state.pool)
    .await?)
}

/// Holds the price and inserts the job, its pending insights and the chat's new status in one
/// transaction, under the user's row lock (the ledger's lock order: user first). The balance
/// check and the hold are one step, so parallel unlocks cannot spend the same coins; the
/// one-active-unlock-per-chat index makes the concurrency check atomic too. `None` when a
/// concurrent request's job won that index (nothing is held then).
async fn create_job(
    state: &AppState,
    user: &AuthUser,
    chat_id: Uuid,
    category_id: Uuid,
    price: i32,
    types: &[UnlockType],
) -> ApiResult<Option<JobRow>> {
    let mut tx = state.pool.begin().await?;
    // The lock first, the held coins in a statement of their own (see `held_coins`).
    let (balance, flagged): (i32, bool) = sqlx::query_as(
        "SELECT credit_balance, is_flagged FROM users WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user.user_id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let held = crate::ledger::held_coins(&mut tx, &user.user_id).await?;
    let available = i64::from(balance) - held;
    // Bounded per user in the database (holds across API replicas, unlike the buckets).
    let running: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insight_generation_jobs WHERE user_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(user.user_id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let max_running = state.settings.rate_limits.max_running_unlocks;
    if running >= max_running {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "You already have {running} unlocks in progress (at most {max_running} at a time). Wait for one to finish, then try again."
            ),
            // An unlock takes about this long.
            retry_after_secs: 30,
        });
    }
    // A flagged account owes coins (a payment was refunded or charged back after its coins
    // were spent): it cannot spend more until support has looked at it.
    if flagged {
        return Err(ApiError::Forbidden(
            "Your account is on hold because a payment was reversed after its coins were spent, so coins cannot be spent right now. Please contact support.".to_owned(),
        ));
    }
    if available < i64::from(price) {
        return Err(ApiError::InsufficientCredits {
            required: price.into(),
            available,
        });
    }
    let reservation_id = Uuid::new_v4();
    let workflow_id = unlock_workflow_id(chat_id, category_id);
    sqlx::query(
        r#"INSERT INTO coin_reservations (id, user_id, chat_id, category_id, workflow_id, amount, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))"#,
    )
    .bind(reservation_id)
    .bind(user.user_id.as_str())
    .bind(chat_id)
    .bind(category_id)
    .bind(&workflow_id)
    .bind(price)
    .bind(state.settings.unlock_timings.hold_secs() as f64)
    .execute(&mut *tx)
    .await?;
    let job_id = Uuid::new_v4().to_string();
    let inserted: Option<JobRow> = sqlx::query_as(&format!(
        r#"INSERT INTO insight_generation_jobs
               (id, job_id, workflow_id, chat_id, category_id, user_id, reservation_id, status, total_insights,
                coins_reserved, estimated_completion_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, now() + interval '1 minute')
           ON CONFLICT DO NOTHING
           RETURNING {JOB_COLUMNS}"#
    ))
    .bind(Uuid::new_v4())
    .bind(&job_id)
    .bind(&workflow_id)
    .bind(chat_id)
    .bind(category_id)
    .bind(user.user_id.as_str())
    .bind(reservation_id)
    .bind(types.len() as i32)
    .bind(price)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = inserted else {
        // Dropping the transaction rolls the hold back.
        return Ok(None);
    };
    for t in types {
        sqlx::query(
            // Every insight joins the new job, completed ones too (they are kept, not made
            // again): the job that pays for them is the one they belong to.
            r#"INSERT INTO insights (id, chat_id, insight_type_id, job_id, status)
               VALUES ($1, $2, $3, $4, 'pending')
               ON CONFLICT (chat_id, insight_type_id) DO UPDATE
                   SET job_id = EXCLUDED.job_id, updated_at = now(),
                       status = CASE WHEN insights.status = 'completed' THEN 'completed' ELSE 'pending' END,
                       error_message = CASE WHEN insights.status = 'completed' THEN insights.error_message END,
                       retry_count = CASE WHEN insights.status = 'completed' THEN insights.retry_count ELSE 0 END"#,
        )
        .bind(Uuid::new_v4())
        .bind(chat_id)
        .bind(t.id)
        .bind(&job_id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        r#"UPDATE chats SET category_id = $2, insights_generation_status = 'queued', insights_job_id = $3,
               total_insights_requested = $4, total_insights_completed = 0, total_insights_failed = 0,
               insights_generation_started_at = now(), insights_generation_completed_at = NULL, updated_at = now()
           WHERE id = $1"#,
    )
    .bind(chat_id)
    .bind(category_id)
    .bind(&job_id)
    .bind(types.len() as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(job))
}

/// Starts the job's workflow, or attaches to it when it already runs (the id is the chat and
/// category: a double click, a retried request or a crash between the job row and the start
/// all end up with one workflow).
async fn attach(
    state: &AppState,
    user: &AuthUser,
    job: JobRow,
    slug: &str,
    types: &[UnlockType],
    chat: &ChatForUnlock,
) -> ApiResult<ApiJson<UnlockResponse>> {
    let reservation_id = job.reservation_id.unwrap_or_else(Uuid::new_v4);
    let input = UnlockInput {
        job_id: job.job_id.clone(),
        user_id: user.user_id.to_string(),
        chat_id: job.chat_id,
        category_id: job.category_id,
        category_slug: slug.to_owned(),
        price: job.coins_reserved,
        reservation_id,
        insight_types: types
            .iter()
            .map(|t| InsightTypeRef {
                id: t.id,
                name: t.name.clone(),
            })
            .collect(),
        timings: state.settings.unlock_timings.clone(),
    };
    let attributes = SearchAttributes::new([
        USER_ID.value_set(user.user_id.to_string()),
        CHAT_ID.value_set(job.chat_id.to_string()),
        CATEGORY.value_set(slug.to_owned()),
        UNLOCK_STATUS.value_set("queued".to_owned()),
    ]);
    let options = WorkflowStartOptions::new(state.task_queue.to_string(), job.workflow_id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
        .search_attributes(attributes)
        .static_summary(format!(
            "unlock {slug} for chat {} (user {})",
            job.chat_id, user.user_id
        ))
        .build();
    match state
        .temporal
        .start_workflow(UnlockInsightsDefinition, input, options)
        .await
    {
        Ok(_) | Err(WorkflowStartError::AlreadyStarted { .. }) => {}
        Err(e) => {
            tracing::error!(error = ?e, "could not start the unlock workflow");
            sqlx::query("UPDATE insight_generation_jobs SET status = 'failed', error_message = $2, completed_at = now() WHERE job_id = $1 AND status = 'queued'")
                .bind(&job.job_id)
                .bind("the workflow could not be started")
                .execute(&state.pool)
                .await?;
            sqlx::query("UPDATE chats SET insights_generation_status = 'failed' WHERE id = $1 AND insights_job_id = $2")
                .bind(job.chat_id)
                .bind(&job.job_id)
                .execute(&state.pool)
                .await?;
            // The API held the coins; no workflow will settle them.
            sqlx::query(
                r#"UPDATE coin_reservations SET status = 'released', reason = $2, settled_at = now()
                   WHERE id = $1 AND status = 'held'"#,
            )
            .bind(reservation_id)
            .bind("the unlock workflow could not be started")
            .execute(&state.pool)
            .await?;
            return Err(ApiError::ServiceUnavailable(
                "The unlock could not be started right now. Nothing was charged; please try again in a minute.".to_owned(),
            ));
        }
    }
    let available = available_coins(state, user).await?;
    Ok(ApiJson(UnlockResponse {
        success: true,
        message: format!(
            "Generating {} insights. {} coins are held and only the insights delivered are charged.",
            types.len(),
            job.coins_reserved
        ),
        poll_url: format!("/insights/jobs/{}/status", job.job_id),
        job_id: job.job_id,
        coins_deducted: job.coins_reserved,
        transaction_id: reservation_id.to_string(),
        // The hold is written with the job, so this is already net of it.
        remaining_balance: available,
        total_insights: types.len(),
        estimated_time_seconds: Some(60),
        indexed_on_demand: chat.vector_status != "completed",
        workflow_id: job.workflow_id,
        status: job.status,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct JobStatusResponse {
    job_id: String,
    /// `queued`, `running`, `completed`, `partial_failure` or `failed`.
    status: String,
    /// (completed + failed) / total × 100.
    progress_percentage: u32,
    total_insights: i32,
    completed_insights: i32,
    failed_insights: i32,
    started_at: Option<DateTime<Utc>>,
    estimated_completion_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    /// New: the workflow's stage (`reserving`, `indexing`, `generating`, `settling`, …).
    stage: String,
    /// New: per-insight states.
    #[schema(value_type = Vec<Object>)]
    insights: Value,
    coins_reserved: i32,
    coins_charged: i32,
    coins_refunded: i32,
    error_message: Option<String>,
    /// New: where the answer came from: the running workflow or the database.
    source: &'static str,
}

/// A job's progress: live from the workflow while it runs, from the database afterwards (or
/// when the workflow cannot be asked).
#[utoipa::path(get, path = "/api/insights/jobs/{job_id}/status", tag = "insights", security(("bearer" = [])),
    params(("job_id" = String, Path, pattern = r"^[^\u0000]*$", description = "The `job_id` an unlock returned")),
    responses((status = 200, body = JobStatusResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn job_status(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(job_id): ApiPath<String>,
) -> ApiResult<ApiJson<JobStatusResponse>> {
    let job: JobRow = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM insight_generation_jobs WHERE job_id = $1 AND user_id = $2"
    ))
    .bind(&job_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("Job"))?;
    let live = if matches!(job.status.as_str(), "queued" | "running") {
        query_progress(&state, &job).await
    } else {
        None
    };
    Ok(ApiJson(match live {
        Some(p) => from_progress(&job, p),
        None => from_database(&state, job).await?,
    }))
}

async fn query_progress(state: &AppState, job: &JobRow) -> Option<UnlockProgress> {
    let handle = state
        .temporal
        .get_workflow_handle::<UnlockInsightsDefinition>(job.workflow_id.clone());
    // A query needs a live worker; never let a status poll hang on one.
    match tokio::time::timeout(
        Duration::from_secs(3),
        handle.query(ProgressQuery, (), WorkflowQueryOptions::default()),
    )
    .await
    {
        Ok(Ok(p)) if p.job_id == job.job_id => Some(p),
        Ok(Ok(_)) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "progress query failed; answering from the database");
            None
        }
        Err(_) => {
            tracing::warn!("progress query timed out; answering from the database");
            None
        }
    }
}

fn percentage(done: i64, total: i64) -> u32 {
    if total <= 0 {
        0
    } else {
        (done * 100 / total).clamp(0, 100) as u32
    }
}

fn from_progress(job: &JobRow, p: UnlockProgress) -> JobStatusResponse {
    let total = i64::from(p.total);
    JobStatusResponse {
        job_id: job.job_id.clone(),
        status: "running".to_owned(),
        progress_percentage: percentage(i64::from(p.completed + p.failed), total),
        total_insights: p.total as i32,
        completed_insights: p.completed as i32,
        failed_insights: p.failed as i32,
        started_at: job.started_at.or(Some(job.created_at)),
        estimated_completion_at: p
            .estimated_seconds_remaining
            .map(|s| Utc::now() + chrono::Duration::seconds(s as i64)),
        completed_at: None,
        stage: p.stage,
        insights: serde_json::to_value(&p.insights).unwrap_or(Value::Null),
        coins_reserved: p.coins_reserved,
        coins_charged: p.coins_charged,
        coins_refunded: p.coins_refunded,
        error_message: None,
        source: "workflow",
    }
}

async fn from_database(state: &AppState, job: JobRow) -> ApiResult<JobStatusResponse> {
    let insights: Vec<(Uuid, String, String, Option<String>)> = sqlx::query_as(
        r#"SELECT i.insight_type_id, t.name, i.status, i.error_message FROM insights i
           JOIN insight_types t ON t.id = i.insight_type_id
           JOIN category_insight_types cit ON cit.insight_type_id = t.id AND cit.category_id = $2
           WHERE i.chat_id = $1 ORDER BY cit.display_order"#,
    )
    .bind(job.chat_id)
    .bind(job.category_id)
    .fetch_all(&state.pool)
    .await?;
    let insights: Vec<Value> = insights
        .into_iter()
        .map(|(id, name, status, error)| json!({"insight_type_id": id, "name": name, "state": status, "error": error}))
        .collect();
    Ok(JobStatusResponse {
        progress_percentage: if matches!(job.status.as_str(), "queued" | "running") {
            percentage(
                i64::from(job.completed_insights + job.failed_insights),
                i64::from(job.total_insights),
            )
        } else {
            100
        },
        stage: job.status.clone(),
        job_id: job.job_id,
        status: job.status,
        total_insights: job.total_insights,
        completed_insights: job.completed_insights,
        failed_insights: job.failed_insights,
        started_at: job.started_at,
        estimated_completion_at: job.estimated_completion_at,
        completed_at: job.completed_at,
        insights: Value::Array(insights),
        coins_reserved: job.coins_reserved,
        coins_charged: job.coins_charged,
        coins_refunded: job.coins_refunded,
        error_message: job.error_message,
        source: "database",
    })
}

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
    status: String,
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
    type ChatRow = (Option<Uuid>, String, Option<DateTime<Utc>>, i32, i32, i32);
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
            status: r.status,
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
        generation_status: status,
        unlocked_at,
        total_requested: requested,
        total_completed: completed,
        total_failed: failed,
        insights,
    }))
}

/// A failed insight and what its unlock paid.
#[derive(Debug, sqlx::FromRow)]
struct RetryCandidate {
    chat_id: Uuid,
    insight_type_id: Uuid,
    job_id: Option<String>,
    status: String,
    retry_count: i32,
    /// The insight's unlock captured coins and no refund gave them back.
    paid: bool,
}

/// Claims a free retry of a failed insight: only for an unlock that was paid for (a partial
/// capture counts: the failed insights are the ones the user was promised), at most
/// [`MAX_FREE_RETRIES`] times. The claim re-checks both in its own `WHERE`, so neither a race
/// nor a refund landing in between can start a retry that is not owed.
async fn claim_retry(
    state: &AppState,
    insight_id: Uuid,
    insight: &RetryCandidate,
) -> ApiResult<i32> {
    if !insight.paid {
        return Err(ApiError::Conflict(
            "This insight's unlock was not charged (it was refunded, or too few insights succeeded), so there is no free retry. Unlock the category again to generate it.".to_owned(),
        ));
    }
    if insight.retry_count >= MAX_FREE_RETRIES {
        return Err(ApiError::Conflict(format!(
            "This insight was already retried {MAX_FREE_RETRIES} times without success. Please contact support; nothing more was charged."
        )));
    }
    let claimed: Option<i32> = sqlx::query_scalar(
        r#"UPDATE insights i SET status = 'generating', retry_count = i.retry_count + 1,
                  error_message = NULL, updated_at = now()
           FROM insight_generation_jobs j JOIN coin_reservations r ON r.id = j.reservation_id
           WHERE i.id = $1 AND i.status = 'failed' AND i.retry_count < $2
             AND j.job_id = i.job_id AND r.status = 'captured' AND r.refunded_amount = 0
           RETURNING i.retry_count"#,
    )
    .bind(insight_id)
    .bind(MAX_FREE_RETRIES)
    .fetch_optional(&state.pool)
    .await?;
    if let Some(attempt) = claimed {
        return Ok(attempt);
    }
    // Lost a race with an identical request (that one started the retry), or a refund landed.
    let now: Option<(String, i32)> =
        sqlx::query_as("SELECT status, retry_count FROM insights WHERE id = $1")
            .bind(insight_id)
            .fetch_optional(&state.pool)
            .await?;
    match now {
        Some((status, attempt)) if status == "generating" => Ok(attempt),
        _ => Err(ApiError::Conflict(
            "This insight can no longer be retried for free.".to_owned(),
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RetryResponse {
    insight_id: Uuid,
    /// `generating` while the retry runs.
    status: String,
    workflow_id: String,
    /// Retries cost nothing.
    coins_charged: i32,
}

/// Generates a failed insight again, for free, in its own small workflow: only an insight of a
/// paid unlock (not refunded), at most three times.
#[utoipa::path(post, path = "/api/insights/{insight_id}/retry", tag = "insights", security(("bearer" = [])),
    params(("insight_id" = Uuid, Path)),
    responses((status = 200, body = RetryResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[tracing::instrument(skip(state, user), err(Debug))]
pub(crate) async fn retry_insight(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(insight_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<RetryResponse>> {
    let row: Option<RetryCandidate> = sqlx::query_as(
        r#"SELECT i.chat_id, i.insight_type_id, i.job_id, i.status, i.retry_count,
                  COALESCE(r.status = 'captured' AND r.refunded_amount = 0, FALSE) AS paid
           FROM insights i
           JOIN chats c ON c.id = i.chat_id
           LEFT JOIN insight_generation_jobs j ON j.job_id = i.job_id
           LEFT JOIN coin_reservations r ON r.id = j.reservation_id
           WHERE i.id = $1 AND c.user_id = $2 AND NOT c.is_deleted"#,
    )
    .bind(insight_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?;
    let insight = row.ok_or_else(|| ApiError::not_found("Insight"))?;
    let (chat_id, insight_type_id, job_id, retries) = (
        insight.chat_id,
        insight.insight_type_id,
        insight.job_id.clone(),
        insight.retry_count,
    );
    let attempt = match insight.status.as_str() {
        "failed" => claim_retry(&state, insight_id, &insight).await?,
        // Already retrying: the same answer again.
        "generating" if retries > 0 => retries,
        "completed" => {
            return Err(ApiError::Conflict(
                "This insight is already complete.".to_owned(),
            ));
        }
        _ => {
            return Err(ApiError::Conflict(
                "This insight is still being generated by its unlock; only failed insights can be retried.".to_owned(),
            ));
        }
    };
    let workflow_id = retry_workflow_id(insight_id, attempt);
    let input = RetryInput {
        insight_id,
        chat_id,
        insight_type_id,
        job_id,
        timings: state.settings.unlock_timings.clone(),
    };
    let options = WorkflowStartOptions::new(state.task_queue.to_string(), workflow_id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .search_attributes(SearchAttributes::new([
            USER_ID.value_set(user.user_id.to_string()),
            CHAT_ID.value_set(chat_id.to_string()),
        ]))
        .static_summary(format!("free retry of insight {insight_id}"))
        .build();
    match state
        .temporal
        .start_workflow(RetryInsightDefinition, input, options)
        .await
    {
        Ok(_) | Err(WorkflowStartError::AlreadyStarted { .. }) => {}
        Err(e) => {
            tracing::error!(error = ?e, "could not start the retry workflow");
            sqlx::query("UPDATE insights SET status = 'failed', error_message = $2 WHERE id = $1 AND status = 'generating'")
                .bind(insight_id)
                .bind("the retry could not be started")
                .execute(&state.pool)
                .await?;
            return Err(ApiError::ServiceUnavailable(
                "The retry could not be started right now; please try again.".to_owned(),
            ));
        }
    }
    Ok(ApiJson(RetryResponse {
        insight_id,
        status: "generating".to_owned(),
        workflow_id,
        coins_charged: 0,
    }))
}
