//! The coin ledger with reservations: reserve, capture, release and refund.
//!
//! Every operation is one database transaction that locks the user row first (then the
//! reservation row: always in that order, so two operations never deadlock), writes the ledger
//! row and the balance together, and is idempotent by reservation id: the reservation's state
//! and the ledger's unique idempotency keys (`capture:{id}`, `refund:{id}`) make a retried
//! activity return the first outcome instead of moving coins again.

use relivchats_domain::{
    contracts::{
        insights::failure,
        unlock::{
            CaptureInput, RefundInput, ReleaseInput, ReserveInput, ReserveOutput, SettleOutput,
        },
    },
    ledger::TransactionType,
    status::ReservationStatus,
};
use relivchats_store::lock_user;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::entry::{Entry, ledger_row, post_once};
use crate::failure::ActivityFailure;

/// Why a ledger operation did not happen: the activities' one failure type.
pub type LedgerError = ActivityFailure;

#[derive(Debug, sqlx::FromRow)]
struct Reservation {
    user_id: String,
    chat_id: Option<Uuid>,
    amount: i32,
    status: ReservationStatus,
    captured_amount: i32,
    refunded_amount: i32,
}

impl Reservation {
    fn settled(&self, transaction_id: Option<Uuid>) -> SettleOutput {
        SettleOutput {
            status: self.status,
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
    pub(super) fn record(self, metrics: &relivchats_metrics::Metrics) {
        metrics.coins("captured", self.captured);
        metrics.coins("released", self.released);
        metrics.coins("refunded", self.refunded);
    }
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
        ActivityFailure::refused(
            failure::UNKNOWN_RESERVATION,
            format!("no reservation {reservation_id}"),
        )
    })?;
    // The reservation's foreign key keeps its user: a missing row is a database error.
    let coins = lock_user(tx, &user_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let reservation: Reservation = sqlx::query_as(
        r#"SELECT user_id, chat_id, amount, status, captured_amount, refunded_amount
           FROM coin_reservations WHERE id = $1 FOR UPDATE"#,
    )
    .bind(reservation_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((reservation, coins.balance))
}

/// Holds `amount` coins for an unlock. Refused (never retried) when the available coins
/// (balance − held) do not cover it; a second call with the same id changes nothing.
pub async fn reserve(pool: &PgPool, input: &ReserveInput) -> Result<ReserveOutput, LedgerError> {
    let mut tx = pool.begin().await?;
    let coins = lock_user(&mut tx, &input.user_id).await?.ok_or_else(|| {
        ActivityFailure::refused(failure::UNKNOWN_CHAT, format!("no user {}", input.user_id))
    })?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM coin_reservations WHERE id = $1)")
            .bind(input.reservation_id)
            .fetch_one(&mut *tx)
            .await?;
    let available = coins.available();
    if exists {
        return Ok(ReserveOutput {
            available_after: available,
        });
    }
    let chat_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM chats WHERE id = $1 AND user_id = $2)")
            .bind(input.chat_id)
            .bind(&input.user_id)
            .fetch_one(&mut *tx)
            .await?;
    if !chat_exists {
        return Err(ActivityFailure::refused(
            failure::UNKNOWN_CHAT,
            "the chat no longer exists",
        ));
    }
    if available < i64::from(input.amount) {
        return Err(ActivityFailure::refused(
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
    if r.status != ReservationStatus::Held {
        let transaction_id = ledger_row(&mut tx, &key).await?;
        return Ok((r.settled(transaction_id), Moved::default()));
    }
    let amount = input.amount.clamp(0, r.amount);
    if amount == 0 {
        set_status(
            &mut tx,
            input.reservation_id,
            ReservationStatus::Released,
            0,
            &input.description,
        )
        .await?;
        tx.commit().await?;
        r.status = ReservationStatus::Released;
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
        ReservationStatus::Captured,
        amount,
        &input.description,
    )
    .await?;
    tx.commit().await?;
    r.status = ReservationStatus::Captured;
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
    status: ReservationStatus,
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
    if r.status == ReservationStatus::Held {
        let status = if input.expired {
            ReservationStatus::Expired
        } else {
            ReservationStatus::Released
        };
        set_status(&mut tx, input.reservation_id, status, 0, &input.reason).await?;
        r.status = status;
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
    if r.status != ReservationStatus::Captured || outstanding <= 0 {
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
