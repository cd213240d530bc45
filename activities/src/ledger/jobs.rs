//! Bookkeeping of unlock jobs: the job row, the chat's generation status and the insight rows
//! (`update_unlock_job`, `settle_retry`).

use relivchats_domain::{
    contracts::unlock::{JobUpdate, RetryUpdate},
    status::{InsightStatus, JobStatus},
};
use sqlx::PgPool;

use super::LedgerError;

/// Writes the job's progress to the chat, the job row and the failed insights.
pub async fn update_job(pool: &PgPool, u: &JobUpdate) -> Result<(), LedgerError> {
    update_job_from(pool, u).await.map(drop)
}

/// [`update_job`], returning the job's status before this update (`None`: no such job), so
/// the caller can tell the first time a job reaches its final status from a retry.
pub(super) async fn update_job_from(
    pool: &PgPool,
    u: &JobUpdate,
) -> Result<Option<JobStatus>, LedgerError> {
    let mut tx = pool.begin().await?;
    let failed_ids: Vec<String> = u
        .failed_insights
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    let previous: Option<JobStatus> = sqlx::query_scalar(
        r#"UPDATE insight_generation_jobs
           SET status = $2, completed_insights = $3, failed_insights = $4, failed_insight_ids = $5,
               coins_charged = $6, coins_refunded = $7, error_message = COALESCE($8, error_message),
               started_at = COALESCE(started_at, now()),
               completed_at = CASE WHEN $9 THEN now() ELSE completed_at END, updated_at = now()
           FROM (SELECT status AS previous_status FROM insight_generation_jobs
                 WHERE job_id = $1 FOR UPDATE) AS before
           WHERE job_id = $1
           RETURNING before.previous_status"#,
    )
    .bind(&u.job_id)
    .bind(u.job_status)
    .bind(u.completed as i32)
    .bind(u.failed as i32)
    .bind(serde_json::json!(failed_ids))
    .bind(u.coins_charged)
    .bind(u.coins_refunded)
    .bind(&u.error_message)
    .bind(u.finished)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        r#"UPDATE chats
           SET insights_generation_status = $2, total_insights_completed = $3, total_insights_failed = $4,
               insights_unlocked_at = CASE WHEN $2 IN ('completed', 'partial_failure')
                                           THEN COALESCE(insights_unlocked_at, now()) ELSE insights_unlocked_at END,
               insights_generation_completed_at = CASE WHEN $5 THEN now() ELSE insights_generation_completed_at END,
               updated_at = now()
           WHERE id = $1 AND insights_job_id = $6"#,
    )
    .bind(u.chat_id)
    .bind(u.chat_status)
    .bind(u.completed as i32)
    .bind(u.failed as i32)
    .bind(u.finished)
    .bind(&u.job_id)
    .execute(&mut *tx)
    .await?;
    for (type_id, error) in &u.failed_insights {
        sqlx::query(
            r#"UPDATE insights SET status = 'failed', error_message = $3, updated_at = now()
               WHERE chat_id = $1 AND insight_type_id = $2 AND status <> 'completed'"#,
        )
        .bind(u.chat_id)
        .bind(type_id)
        .bind(error)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(previous)
}

/// Settles a free retry: marks the insight, then recounts the chat (all done → `completed`).
pub async fn settle_retry(pool: &PgPool, u: &RetryUpdate) -> Result<String, LedgerError> {
    let mut tx = pool.begin().await?;
    if !u.succeeded {
        sqlx::query(
            r#"UPDATE insights SET status = 'failed', error_message = $2, updated_at = now()
               WHERE id = $1 AND status <> 'completed'"#,
        )
        .bind(u.insight_id)
        .bind(u.error.as_deref().unwrap_or("generation failed"))
        .execute(&mut *tx)
        .await?;
    }
    let (completed, failed): (i64, i64) = sqlx::query_as(
        r#"SELECT COUNT(*) FILTER (WHERE status = 'completed'), COUNT(*) FILTER (WHERE status = 'failed')
           FROM insights WHERE chat_id = $1"#,
    )
    .bind(u.chat_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        r#"UPDATE chats SET total_insights_completed = $2, total_insights_failed = $3,
               insights_generation_status = CASE
                   WHEN $3 = 0 AND $2 >= total_insights_requested THEN 'completed'
                   ELSE insights_generation_status END,
               updated_at = now()
           WHERE id = $1"#,
    )
    .bind(u.chat_id)
    .bind(completed as i32)
    .bind(failed as i32)
    .execute(&mut *tx)
    .await?;
    let status: Option<InsightStatus> =
        sqlx::query_scalar("SELECT status FROM insights WHERE id = $1")
            .bind(u.insight_id)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(status.unwrap_or(InsightStatus::Failed).to_string())
}
