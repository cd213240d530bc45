//! The SQL both processes run on a user's coins, written once.
//!
//! The rule itself lives in the database (`held_coins(user_id)`, migration
//! `20261206000001_held_coins.sql`): `available = balance − held`, where held is the sum of the
//! user's open (`held`) reservations. The API checks it before it starts an unlock or applies
//! an adjustment; the worker applies it when it reserves coins or claws back a refunded
//! payment. Both lock the user's row first, so two of those never interleave.

use sqlx::PgConnection;

/// A user's coins as the ledger sees them, read under (or without) their row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coins {
    /// `users.credit_balance`: the sum of the user's ledger rows.
    pub balance: i32,
    /// Coins held by unlocks that have not settled.
    pub held: i64,
    /// Flagged accounts (a disputed payment) may not spend.
    pub is_flagged: bool,
}

impl Coins {
    /// What the user can spend now.
    pub fn available(&self) -> i64 {
        i64::from(self.balance) - self.held
    }

    /// `held`, saturated to the ledger's integer width (a sum over `INTEGER` amounts).
    pub fn held_i32(&self) -> i32 {
        i32::try_from(self.held).unwrap_or(i32::MAX)
    }
}

/// Locks the user's row for the rest of the transaction (`FOR UPDATE`) and reads their coins;
/// `None` when the user does not exist.
///
/// Held coins are read in a second statement, after the lock is taken: a statement's snapshot
/// is taken before it waits for a lock, so a sum inside the locking statement would miss the
/// hold that the transaction we waited for had just committed.
pub async fn lock_user(conn: &mut PgConnection, user_id: &str) -> sqlx::Result<Option<Coins>> {
    let Some((balance, is_flagged)) = sqlx::query_as::<_, (i32, bool)>(
        "SELECT credit_balance, is_flagged FROM users WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let held = held_coins(conn, user_id).await?;
    Ok(Some(Coins {
        balance,
        held,
        is_flagged,
    }))
}

/// The user's coins without a lock (for display); `None` when the user does not exist.
pub async fn coins(conn: &mut PgConnection, user_id: &str) -> sqlx::Result<Option<Coins>> {
    let row = sqlx::query_as::<_, (i32, i64, bool)>(
        "SELECT credit_balance, held_coins(user_id), is_flagged FROM users WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(balance, held, is_flagged)| Coins {
        balance,
        held,
        is_flagged,
    }))
}

/// Coins held by the user's unsettled unlocks. Call it under the user's row lock, in a
/// statement after the one that took the lock (see [`lock_user`]).
pub async fn held_coins(conn: &mut PgConnection, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT held_coins($1)")
        .bind(user_id)
        .fetch_one(conn)
        .await
}
