//! The ledger writes the HTTP side needs: provisioning a user with the signup bonus, and an
//! operator's adjustment. Each is one database transaction; uniqueness in the schema (the
//! idempotency key, one signup bonus per user) makes a retry or a race write nothing twice.

use relivchats_domain::{
    UserId,
    ledger::{self, SIGNUP_BONUS_COINS, TransactionType},
};
use sqlx::PgPool;
use uuid::Uuid;

/// What provisioning found or made.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: String,
    pub email: Option<String>,
    pub credit_balance: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub is_deleted: bool,
}

const SELECT_USER: &str =
    "SELECT user_id, email, credit_balance, created_at, is_deleted FROM users WHERE user_id = $1";

/// Returns the user, creating it with its signup bonus if this is the first time it is seen.
///
/// Every authenticated request comes through here, so the common case is one read. A new user
/// row and its bonus row are written by one statement: either both exist or neither does, and
/// of twenty concurrent first requests exactly one inserts (the others find the row).
#[tracing::instrument(skip_all, fields(user_id = %user_id), err)]
pub async fn ensure_user(
    pool: &PgPool,
    user_id: &UserId,
    email: Option<&str>,
) -> sqlx::Result<UserRow> {
    if let Some(user) = sqlx::query_as(SELECT_USER)
        .bind(user_id.as_str())
        .fetch_optional(pool)
        .await?
    {
        return Ok(user);
    }
    let created: Option<UserRow> = sqlx::query_as(
        r#"
        WITH new_user AS (
            INSERT INTO users (user_id, email, credit_balance)
            VALUES ($1, $2, $3)
            ON CONFLICT (user_id) DO NOTHING
            RETURNING user_id, email, credit_balance, created_at, is_deleted
        ), bonus AS (
            INSERT INTO credit_transactions
                (id, user_id, type, amount, balance_after, description, idempotency_key)
            SELECT $4, user_id, 'signup_bonus', $3, $3, $5, $6 FROM new_user
        )
        SELECT * FROM new_user
        "#,
    )
    .bind(user_id.as_str())
    .bind(email)
    .bind(SIGNUP_BONUS_COINS)
    .bind(Uuid::new_v4())
    .bind(format!("Welcome bonus: {SIGNUP_BONUS_COINS} coins"))
    .bind(ledger::signup_bonus_key(user_id.as_str()))
    .fetch_optional(pool)
    .await?;
    if let Some(user) = created {
        tracing::info!(bonus = SIGNUP_BONUS_COINS, "new user provisioned");
        return Ok(user);
    }
    // A concurrent first request inserted it between our read and our insert.
    sqlx::query_as(SELECT_USER)
        .bind(user_id.as_str())
        .fetch_one(pool)
        .await
}

/// The outcome of an operator adjustment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Adjustment {
    pub transaction_id: Uuid,
    pub user_id: String,
    pub amount: i32,
    pub balance_after: i32,
}

/// Why an adjustment was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdjustError {
    #[error(transparent)]
    Rule(#[from] ledger::AdjustmentError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Adds (or removes) coins for support goodwill or test set-up: one `admin_adjustment` row.
#[tracing::instrument(skip(pool), err)]
pub async fn admin_adjust(
    pool: &PgPool,
    user_id: &UserId,
    delta: i32,
    reason: &str,
) -> Result<Adjustment, AdjustError> {
    ensure_user(pool, user_id, None).await?;
    let mut tx = pool.begin().await?;
    // Held coins are read after the lock, in a statement of their own: a statement's snapshot
    // is taken before it waits, so a sum inside the locking statement would miss the hold the
    // transaction we waited for had just committed (see `relivchats_store::lock_user`).
    let coins = relivchats_store::lock_user(&mut tx, user_id.as_str())
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let balance_after = ledger::apply_adjustment(coins.balance, coins.held_i32(), delta)?;
    let transaction_id = Uuid::new_v4();
    sqlx::query(
        r#"INSERT INTO credit_transactions
               (id, user_id, type, amount, balance_after, description, idempotency_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
    )
    .bind(transaction_id)
    .bind(user_id.as_str())
    .bind(TransactionType::AdminAdjustment.as_str())
    .bind(delta)
    .bind(balance_after)
    .bind(reason)
    .bind(format!("admin:{transaction_id}"))
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET credit_balance = $2, updated_at = now() WHERE user_id = $1")
        .bind(user_id.as_str())
        .bind(balance_after)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Adjustment {
        transaction_id,
        user_id: user_id.to_string(),
        amount: delta,
        balance_after,
    })
}
