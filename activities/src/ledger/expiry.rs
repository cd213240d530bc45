//! The expiry sweep: holds that no workflow settled come back to their users.

use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

/// Releases every hold past its `expires_at` that no workflow settled (a terminated or stuck
/// run, or an API that held coins and then crashed before starting the workflow), and fails
/// the job and insights still waiting on it. Each reservation ends exactly once: the update
/// only takes `held` rows (under their row lock), so concurrent sweepers on several workers,
/// or a workflow settling at the same moment, never release or capture one twice. Nothing was
/// deducted from a hold, so the balance is untouched. Returns how many holds were released.
pub async fn release_expired(pool: &PgPool) -> sqlx::Result<u64> {
    Ok(expire_holds(pool).await?.holds)
}

/// What one sweep released: holds, their coins and the jobs it failed.
#[derive(Debug, Default, Clone, Copy)]
struct Expired {
    holds: u64,
    coins: i32,
    jobs: u64,
}

async fn expire_holds(pool: &PgPool) -> sqlx::Result<Expired> {
    let mut tx = pool.begin().await?;
    let expired: Vec<(Uuid, i32)> = sqlx::query_as(
        r#"UPDATE coin_reservations
           SET status = 'expired', settled_at = now(),
               reason = 'expired: no unlock settled this hold before it expired'
           WHERE id IN (SELECT id FROM coin_reservations
                        WHERE status = 'held' AND expires_at < now()
                        ORDER BY expires_at LIMIT 500
                        FOR UPDATE SKIP LOCKED)
           RETURNING id, amount"#,
    )
    .fetch_all(&mut *tx)
    .await?;
    let released: Vec<Uuid> = expired.iter().map(|(id, _)| *id).collect();
    let mut jobs_failed = 0;
    if !released.is_empty() {
        let jobs: Vec<(String, Uuid)> = sqlx::query_as(
            r#"UPDATE insight_generation_jobs
               SET status = 'failed', coins_charged = 0, coins_refunded = coins_reserved,
                   error_message = 'The unlock did not finish; the held coins were released.',
                   completed_at = now(), updated_at = now()
               WHERE reservation_id = ANY($1) AND status IN ('queued', 'running')
               RETURNING job_id, chat_id"#,
        )
        .bind(&released)
        .fetch_all(&mut *tx)
        .await?;
        jobs_failed = jobs.len() as u64;
        for (job_id, chat_id) in &jobs {
            sqlx::query(
                r#"UPDATE insights SET status = 'failed', error_message = 'The unlock did not finish in time.',
                       updated_at = now()
                   WHERE job_id = $1 AND status <> 'completed'"#,
            )
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                r#"UPDATE chats SET insights_generation_status = 'failed', updated_at = now()
                   WHERE id = $1 AND insights_job_id = $2"#,
            )
            .bind(chat_id)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        }
        tracing::warn!(
            holds = released.len(),
            jobs = jobs.len(),
            "released expired coin holds that no workflow settled"
        );
    }
    tx.commit().await?;
    Ok(Expired {
        holds: released.len() as u64,
        coins: expired.iter().map(|(_, amount)| *amount).sum(),
        jobs: jobs_failed,
    })
}

/// Runs [`release_expired`] every `every`, for the life of the worker. Holds it releases
/// count as `released` coins, and the jobs it fails as settled with outcome `expired`.
pub async fn sweep_expired_holds(
    pool: PgPool,
    every: std::time::Duration,
    metrics: Arc<relivchats_metrics::Metrics>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match expire_holds(&pool).await {
            Ok(expired) => {
                metrics.coins("released", expired.coins);
                for _ in 0..expired.jobs {
                    metrics.unlock_settled("expired");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the expired-hold sweep failed; trying again later")
            }
        }
    }
}
