//! The unlock's one ledger transaction: the user's row lock, the balance check and the coin
//! hold, the job and its pending insights, written together or not at all.

use relivchats_domain::contracts::unlock::unlock_workflow_id;
use uuid::Uuid;

use super::{JOB_COLUMNS, JobRow, unlock::UnlockType};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
};

/// Holds the price and inserts the job, its pending insights and the chat's new status in one
/// transaction, under the user's row lock (the ledger's lock order: user first). The balance
/// check and the hold are one step, so parallel unlocks cannot spend the same coins; the
/// one-active-unlock-per-chat index makes the concurrency check atomic too. `None` when a
/// concurrent request's job won that index (nothing is held then).
pub(super) async fn create_job(
    state: &AppState,
    user: &AuthUser,
    chat_id: Uuid,
    category_id: Uuid,
    price: i32,
    types: &[UnlockType],
) -> ApiResult<Option<JobRow>> {
    let mut tx = state.pool.begin().await?;
    // The lock first, the held coins in a statement of their own: a statement's snapshot is
    // taken before it waits for the lock, so a sum inside the locking statement would miss the
    // hold that the unlock we waited for had just committed (see `relivchats_store::lock_user`).
    let coins = relivchats_store::lock_user(&mut tx, user.user_id.as_str())
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let available = coins.available();
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
    if coins.is_flagged {
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
