//! The coin ledger with reservations, and the unlock job's bookkeeping.
//!
//! Every money operation is one database transaction that locks the user row first (then the
//! reservation row: always in that order, so two operations never deadlock), writes the ledger
//! row and the balance together, and is idempotent by reservation id: the reservation's state
//! and the ledger's unique idempotency keys (`capture:{id}`, `refund:{id}`) make a retried
//! activity return the first outcome instead of moving coins again.

#![allow(unreachable_pub)] // the activity macros emit items the lint cannot see through

use std::sync::Arc;

use relivchats_domain::{
    contracts::{
        insights::failure,
        unlock::{
            CaptureCoins, CaptureInput, JobUpdate, RefundCoins, RefundInput, ReleaseCoins,
            ReleaseInput, ReserveCoins, ReserveInput, ReserveOutput, RetryUpdate, SettleOutput,
            SettleRetry, UpdateUnlockJob,
        },
    },
    ledger::TransactionType,
};
use sqlx::{PgPool, Postgres, Transaction};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};
use uuid::Uuid;

/// Why a ledger operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A business rule: never retried.
    #[error("{message}")]
    Refused { kind: &'static str, message: String },
    /// The database: retried.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl LedgerError {
    /// Business refusals become non-retryable failures typed with their kind; database errors
    /// stay retryable. (`ActivityError` has a blanket `From` for every error, which would make
    /// them all retryable, hence this explicit conversion.)
    pub fn into_activity(self) -> ActivityError {
        match self {
            LedgerError::Refused { kind, message } => ActivityError::application(
                ApplicationFailure::builder(message)
                    .type_name(kind.to_owned())
                    .non_retryable(true)
                    .build(),
            ),
            LedgerError::Database(e) => ActivityError::from(anyhow::Error::from(e)),
        }
    }
}

fn refused(kind: &'static str, message: impl Into<String>) -> LedgerError {
    LedgerError::Refused {
        kind,
        message: message.into(),
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Reservation {
    user_id: String,
    chat_id: Option<Uuid>,
    amount: i32,
    status: String,
    captured_amount: i32,
    refunded_amount: i32,
}

impl Reservation {
    fn settled(&self, transaction_id: Option<Uuid>) -> SettleOutput {
        SettleOutput {
            status: self.status.clone(),
            captured: self.captured_amount,
            refunded: self.refunded_amount,
            transaction_id,
        }
    }
}

/// Coins one call moved for the first time: zero when an earlier attempt (or another worker)
/// had already settled the reservation, so metrics count each movement once however often a
/// ledger activity is retried.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub captured: i32,
    pub released: i32,
    pub refunded: i32,
}

impl Moved {
    fn record(self, metrics: &relivchats_metrics::Metrics) {
        metrics.coins("captured", self.captured);
        metrics.coins("released", self.released);
        metrics.coins("refunded", self.refunded);
    }
}

/// One ledger row. [`post`] writes it with the balance it leads to.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) kind: TransactionType,
    pub(crate) amount: i32,
    pub(crate) balance_after: i32,
    pub(crate) description: String,
    /// What makes the row happen once (`capture:{id}`, `purchase:{provider}:{payment}` …).
    pub(crate) idempotency_key: String,
    pub(crate) chat_id: Option<Uuid>,
    pub(crate) reservation_id: Option<Uuid>,
    pub(crate) package_id: Option<Uuid>,
    pub(crate) payment_order_id: Option<Uuid>,
    pub(crate) payment_id: Option<String>,
    pub(crate) metadata: Option<serde_json::Value>,
}

impl<'a> Entry<'a> {
    pub(crate) fn new(
        user_id: &'a str,
        kind: TransactionType,
        amount: i32,
        balance_after: i32,
    ) -> Self {
        Self {
            user_id,
            kind,
            amount,
            balance_after,
            description: String::new(),
            idempotency_key: String::new(),
            chat_id: None,
            reservation_id: None,
            package_id: None,
            payment_order_id: None,
            payment_id: None,
            metadata: None,
        }
    }
}

/// Writes a ledger row and the user's new balance in the caller's transaction, which must hold
/// the user's row lock: the one place activities move coins. `None` when the idempotency key
/// already exists (an earlier attempt wrote it); the balance is then left alone.
pub(crate) async fn post(
    tx: &mut Transaction<'_, Postgres>,
    entry: &Entry<'_>,
) -> sqlx::Result<Option<Uuid>> {
    let id: Option<Uuid> = sqlx::query_scalar(
        r#"INSERT INTO credit_transactions
               (id, user_id, type, amount, balance_after, description, chat_id, reservation_id,
                package_id, payment_order_id, payment_id, idempotency_key, metadata)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id"#,
    )
    .bind(Uuid::new_v4())
    .bind(entry.user_id)
    .bind(entry.kind.as_str())
    .bind(entry.amount)
    .bind(entry.balance_after)
    .bind(&entry.description)
    .bind(entry.chat_id)
    .bind(entry.reservation_id)
    .bind(entry.package_id)
    .bind(entry.payment_order_id)
    .bind(&entry.payment_id)
    .bind(&entry.idempotency_key)
    .bind(&entry.metadata)
    .fetch_optional(&mut **tx)
    .await?;
    if id.is_some() {
        sqlx::query("UPDATE users SET credit_balance = $2, updated_at = now() WHERE user_id = $1")
            .bind(entry.user_id)
            .bind(entry.balance_after)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Locks the reservation's user, then the reservation (the one lock order of the ledger).
async fn lock_reservation(
    tx: &mut Transaction<'_, Postgres>,
    reservation_id: Uuid,
) -> Result<(Reservation, i32), LedgerError> {
    let user_id: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM coin_reservations WHERE id = $1")
            .bind(reservation_id)
            .fetch_optional(&mut **tx)
            .await?;
    let user_id = user_id.ok_or_else(|| {
        refused(
            "UnknownReservation",
            format!("no reservation {reservation_id}"),
        )
    })?;
    let balance: i32 =
        sqlx::query_scalar("SELECT credit_balance FROM users WHERE user_id = $1 FOR UPDATE")
            .bind(&user_id)
            .fetch_one(&mut **tx)
            .await?;
    let reservation: Reservation = sqlx::query_as(
        r#"SELECT user_id, chat_id, amount, status, captured_amount, refunded_amount
           FROM coin_reservations WHERE id = $1 FOR UPDATE"#,
    )
    .bind(reservation_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((reservation, balance))
}

async fn held_coins(tx: &mut Transaction<'_, Postgres>, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM coin_reservations WHERE user_id = $1 AND status = 'held'",
    )
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await
}

/// Holds `amount` coins for an unlock. Refused (never retried) when the available coins
/// (balance − held) do not cover it; a second call with the same id changes nothing.
pub async fn reserve(pool: &PgPool, input: &ReserveInput) -> Result<ReserveOutput, LedgerError> {
    let mut tx = pool.begin().await?;
    let balance: Option<i32> =
        sqlx::query_scalar("SELECT credit_balance FROM users WHERE user_id = $1 FOR UPDATE")
            .bind(&input.user_id)
            .fetch_optional(&mut *tx)
            .await?;
    let balance = balance
        .ok_or_else(|| refused(failure::UNKNOWN_CHAT, format!("no user {}", input.user_id)))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM coin_reservations WHERE id = $1)")
            .bind(input.reservation_id)
            .fetch_one(&mut *tx)
            .await?;
    let held = held_coins(&mut tx, &input.user_id).await?;
    if exists {
        return Ok(ReserveOutput {
            available_after: i64::from(balance) - held,
        });
    }
    let chat_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM chats WHERE id = $1 AND user_id = $2)")
            .bind(input.chat_id)
            .bind(&input.user_id)
            .fetch_one(&mut *tx)
            .await?;
    if !chat_exists {
        return Err(refused(failure::UNKNOWN_CHAT, "the chat no longer exists"));
    }
    let available = i64::from(balance) - held;
    if available < i64::from(input.amount) {
        return Err(refused(
            failure::INSUFFICIENT_CREDITS,
            format!(
                "{} coins are needed but only {available} are available",
                input.amount
            ),
        ));
    }
    sqlx::query(
        r#"INSERT INTO coin_reservations (id, user_id, chat_id, category_id, workflow_id, amount, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))"#,
    )
    .bind(input.reservation_id)
    .bind(&input.user_id)
    .bind(input.chat_id)
    .bind(input.category_id)
    .bind(&input.workflow_id)
    .bind(input.amount)
    .bind(input.hold_secs as f64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ReserveOutput {
        available_after: available - i64::from(input.amount),
    })
}

/// Deducts `amount` (at most the reservation) as one `insight_unlock` row and releases the
/// rest. Capturing nothing releases the reservation instead.
pub async fn capture(pool: &PgPool, input: &CaptureInput) -> Result<SettleOutput, LedgerError> {
    Ok(capture_moving(pool, input).await?.0)
}

/// [`capture`], and the coins this call moved: none if the reservation was already settled.
pub async fn capture_moving(
    pool: &PgPool,
    input: &CaptureInput,
) -> Result<(SettleOutput, Moved), LedgerError> {
    let mut tx = pool.begin().await?;
    let (mut r, balance) = lock_reservation(&mut tx, input.reservation_id).await?;
    let key = format!("capture:{}", input.reservation_id);
    if r.status != "held" {
        let transaction_id = ledger_row(&mut tx, &key).await?;
        return Ok((r.settled(transaction_id), Moved::default()));
    }
    let amount = input.amount.clamp(0, r.amount);
    if amount == 0 {
        set_status(
            &mut tx,
            input.reservation_id,
            "released",
            0,
            &input.description,
        )
        .await?;
        tx.commit().await?;
        r.status = "released".into();
        let moved = Moved {
            released: r.amount,
            ..Moved::default()
        };
        return Ok((r.settled(None), moved));
    }
    let entry = Entry {
        description: input.description.clone(),
        idempotency_key: key,
        chat_id: r.chat_id,
        reservation_id: Some(input.reservation_id),
        metadata: Some(
            serde_json::json!({"job_id": input.job_id, "reserved": r.amount, "captured": amount, "released": r.amount - amount}),
        ),
        ..Entry::new(
            &r.user_id,
            TransactionType::InsightUnlock,
            -amount,
            balance - amount,
        )
    };
    let transaction_id = post_once(&mut tx, &entry).await?;
    set_status(
        &mut tx,
        input.reservation_id,
        "captured",
        amount,
        &input.description,
    )
    .await?;
    tx.commit().await?;
    r.status = "captured".into();
    r.captured_amount = amount;
    let moved = Moved {
        captured: amount,
        released: r.amount - amount,
        ..Moved::default()
    };
    Ok((r.settled(Some(transaction_id)), moved))
}

async fn set_status(
    tx: &mut Transaction<'_, Postgres>,
    reservation_id: Uuid,
    status: &str,
    captured: i32,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        r#"UPDATE coin_reservations SET status = $2, captured_amount = $3, reason = $4, settled_at = now()
           WHERE id = $1"#,
    )
    .bind(reservation_id)
    .bind(status)
    .bind(captured)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// [`post`], or the id of the row an earlier attempt wrote under the same key.
async fn post_once(tx: &mut Transaction<'_, Postgres>, entry: &Entry<'_>) -> sqlx::Result<Uuid> {
    match post(tx, entry).await? {
        Some(id) => Ok(id),
        None => Ok(ledger_row(tx, &entry.idempotency_key)
            .await?
            .unwrap_or_default()),
    }
}

async fn ledger_row(tx: &mut Transaction<'_, Postgres>, key: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM credit_transactions WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
}

/// Gives the held coins back without touching the balance (nothing was deducted yet).
pub async fn release(pool: &PgPool, input: &ReleaseInput) -> Result<SettleOutput, LedgerError> {
    Ok(release_moving(pool, input).await?.0)
}

/// [`release`], and the coins this call moved: none if the reservation was already settled.
pub async fn release_moving(
    pool: &PgPool,
    input: &ReleaseInput,
) -> Result<(SettleOutput, Moved), LedgerError> {
    let mut tx = pool.begin().await?;
    let (mut r, _) = lock_reservation(&mut tx, input.reservation_id).await?;
    let mut moved = Moved::default();
    if r.status == "held" {
        let status = if input.expired { "expired" } else { "released" };
        set_status(&mut tx, input.reservation_id, status, 0, &input.reason).await?;
        r.status = status.to_owned();
        moved.released = r.amount;
    }
    tx.commit().await?;
    Ok((r.settled(None), moved))
}

/// Returns captured coins to the user (an operator's refund): one `refund` row, once.
pub async fn refund(pool: &PgPool, input: &RefundInput) -> Result<SettleOutput, LedgerError> {
    Ok(refund_moving(pool, input).await?.0)
}

/// [`refund`], and the coins this call moved: none if the refund was already made.
pub async fn refund_moving(
    pool: &PgPool,
    input: &RefundInput,
) -> Result<(SettleOutput, Moved), LedgerError> {
    let mut tx = pool.begin().await?;
    let (mut r, balance) = lock_reservation(&mut tx, input.reservation_id).await?;
    let key = format!("refund:{}", input.reservation_id);
    let outstanding = r.captured_amount - r.refunded_amount;
    if r.status != "captured" || outstanding <= 0 {
        let transaction_id = ledger_row(&mut tx, &key).await?;
        return Ok((r.settled(transaction_id), Moved::default()));
    }
    let entry = Entry {
        description: format!("Refund: {}", input.reason),
        idempotency_key: key,
        chat_id: r.chat_id,
        reservation_id: Some(input.reservation_id),
        metadata: Some(serde_json::json!({"reason": input.reason, "operator": input.operator})),
        ..Entry::new(
            &r.user_id,
            TransactionType::Refund,
            outstanding,
            balance + outstanding,
        )
    };
    let transaction_id = post_once(&mut tx, &entry).await?;
    sqlx::query(
        "UPDATE coin_reservations SET refunded_amount = captured_amount, reason = $2 WHERE id = $1",
    )
    .bind(input.reservation_id)
    .bind(format!("refunded: {}", input.reason))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    r.refunded_amount = r.captured_amount;
    let moved = Moved {
        refunded: outstanding,
        ..Moved::default()
    };
    Ok((r.settled(Some(transaction_id)), moved))
}

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

/// Writes the job's progress to the chat, the job row and the failed insights.
pub async fn update_job(pool: &PgPool, u: &JobUpdate) -> Result<(), LedgerError> {
    update_job_from(pool, u).await.map(drop)
}

/// [`update_job`], returning the job's status before this update (`None`: no such job), so
/// the caller can tell the first time a job reaches its final status from a retry.
async fn update_job_from(pool: &PgPool, u: &JobUpdate) -> Result<Option<String>, LedgerError> {
    let mut tx = pool.begin().await?;
    let failed_ids: Vec<String> = u
        .failed_insights
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    let previous: Option<String> = sqlx::query_scalar(
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
    .bind(&u.job_status)
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
    .bind(&u.chat_status)
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
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM insights WHERE id = $1")
        .bind(u.insight_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(status.unwrap_or_else(|| "failed".to_owned()))
}

/// The ledger activities; they share the worker's pool. Coin movements and unlock outcomes
/// are counted here, where the database says whether this call was the first to settle.
#[derive(Clone)]
pub struct LedgerActivities {
    pool: PgPool,
    metrics: Arc<relivchats_metrics::Metrics>,
}

impl LedgerActivities {
    pub fn new(pool: PgPool, metrics: Arc<relivchats_metrics::Metrics>) -> Self {
        Self { pool, metrics }
    }

    fn moved(
        &self,
        result: Result<(SettleOutput, Moved), LedgerError>,
    ) -> Result<SettleOutput, ActivityError> {
        let (out, moved) = result.map_err(LedgerError::into_activity)?;
        moved.record(&self.metrics);
        Ok(out)
    }
}

#[activities]
impl LedgerActivities {
    #[activity(definition = ReserveCoins)]
    pub async fn reserve_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReserveInput,
    ) -> Result<ReserveOutput, ActivityError> {
        reserve(&self.pool, &input)
            .await
            .map_err(LedgerError::into_activity)
    }

    #[activity(definition = CaptureCoins)]
    pub async fn capture_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: CaptureInput,
    ) -> Result<SettleOutput, ActivityError> {
        self.moved(capture_moving(&self.pool, &input).await)
    }

    #[activity(definition = ReleaseCoins)]
    pub async fn release_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReleaseInput,
    ) -> Result<SettleOutput, ActivityError> {
        self.moved(release_moving(&self.pool, &input).await)
    }

    #[activity(definition = RefundCoins)]
    pub async fn refund_coins(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RefundInput,
    ) -> Result<SettleOutput, ActivityError> {
        self.moved(refund_moving(&self.pool, &input).await)
    }

    #[activity(definition = UpdateUnlockJob)]
    pub async fn update_unlock_job(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: JobUpdate,
    ) -> Result<(), ActivityError> {
        let previous = update_job_from(&self.pool, &input)
            .await
            .map_err(LedgerError::into_activity)?;
        // A retried update finds the status it set itself: counted once per final status.
        if input.finished && previous.as_deref() != Some(input.job_status.as_str()) {
            self.metrics.unlock_settled(&input.job_status);
        }
        Ok(())
    }

    #[activity(definition = SettleRetry)]
    pub async fn settle_retry(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: RetryUpdate,
    ) -> Result<String, ActivityError> {
        settle_retry(&self.pool, &input)
            .await
            .map_err(LedgerError::into_activity)
    }
}
