//! Ledger rows: the one place activities move coins (the unlock ledger and the payments).

use relivchats_domain::ledger::TransactionType;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

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

/// [`post`], or the id of the row an earlier attempt wrote under the same key.
pub(crate) async fn post_once(
    tx: &mut Transaction<'_, Postgres>,
    entry: &Entry<'_>,
) -> sqlx::Result<Uuid> {
    match post(tx, entry).await? {
        Some(id) => Ok(id),
        None => Ok(ledger_row(tx, &entry.idempotency_key)
            .await?
            .unwrap_or_default()),
    }
}

pub(crate) async fn ledger_row(
    tx: &mut Transaction<'_, Postgres>,
    key: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM credit_transactions WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
}
