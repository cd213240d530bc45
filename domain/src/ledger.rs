//! Rules of the coin ledger.
//!
//! `users.credit_balance` is a cache of the ledger: it always equals the sum of the user's
//! `credit_transactions.amount`, and every change writes one transaction row in the same
//! database transaction as the balance update. These rules decide *what* to write; the
//! database (constraints, row locks) guarantees it is written once.

use serde::{Deserialize, Serialize};

/// Coins granted once to every user, the first time a valid token for them is seen.
pub const SIGNUP_BONUS_COINS: i32 = 50;

/// Kinds of ledger rows. Stored lowercase, returned lowercase to the frontend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    SignupBonus,
    Purchase,
    InsightUnlock,
    Refund,
    AdminAdjustment,
    /// Coins clawed back because the payment that bought them was refunded.
    PaymentRefund,
}

impl TransactionType {
    pub const ALL: [TransactionType; 6] = [
        Self::SignupBonus,
        Self::Purchase,
        Self::InsightUnlock,
        Self::Refund,
        Self::AdminAdjustment,
        Self::PaymentRefund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignupBonus => "signup_bonus",
            Self::Purchase => "purchase",
            Self::InsightUnlock => "insight_unlock",
            Self::Refund => "refund",
            Self::AdminAdjustment => "admin_adjustment",
            Self::PaymentRefund => "payment_refund",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// The idempotency key of a user's signup bonus: the ledger has a unique index on it, so a
/// bonus can be written once however many requests race to write it.
pub fn signup_bonus_key(user_id: &str) -> String {
    format!("signup_bonus:{user_id}")
}

/// Why an adjustment cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdjustmentError {
    #[error("an adjustment of zero coins changes nothing")]
    Zero,
    #[error(
        "the balance is {balance} coins, {available} of them available: removing {requested} would take it below zero"
    )]
    BelowZero {
        balance: i64,
        available: i64,
        requested: i64,
    },
    #[error("the balance would exceed the largest amount the ledger can hold")]
    Overflow,
}

/// Decides the balance after an operator adjustment of `delta` coins.
///
/// A negative adjustment may remove at most the *available* coins (balance minus coins held by
/// open reservations), so support can never take coins an unlock has already reserved.
pub fn apply_adjustment(balance: i32, held: i32, delta: i32) -> Result<i32, AdjustmentError> {
    if delta == 0 {
        return Err(AdjustmentError::Zero);
    }
    let available = i64::from(balance) - i64::from(held);
    if delta < 0 && i64::from(delta).abs() > available {
        return Err(AdjustmentError::BelowZero {
            balance: balance.into(),
            available,
            requested: i64::from(delta).abs(),
        });
    }
    balance.checked_add(delta).ok_or(AdjustmentError::Overflow)
}

/// Coins an unlock captures when it settles; the rest of its reservation is released.
///
/// Everything when every insight was delivered; the delivered share when some failed (rounded
/// down: in the user's favour); nothing when more than half failed, or when the unlock was
/// refunded or ran out of time before it settled (`refunded`).
pub fn settlement_charge(price: i32, delivered: u32, failed: u32, refunded: bool) -> i32 {
    let total = delivered + failed;
    match (refunded, failed) {
        (true, _) => 0,
        (false, 0) => price,
        (false, f) if f * 2 > total => 0,
        (false, _) => (i64::from(price) * i64::from(delivered) / i64::from(total.max(1))) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_types_round_trip() {
        for t in TransactionType::ALL {
            assert_eq!(TransactionType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(TransactionType::parse("SIGNUP_BONUS"), None);
    }

    #[test]
    fn adjustments_never_go_below_available() {
        assert_eq!(apply_adjustment(100, 0, 50), Ok(150));
        assert_eq!(apply_adjustment(100, 0, -100), Ok(0));
        assert_eq!(apply_adjustment(100, 40, -60), Ok(40));
        assert!(matches!(
            apply_adjustment(100, 40, -61),
            Err(AdjustmentError::BelowZero { available: 60, .. })
        ));
        assert_eq!(apply_adjustment(5, 0, 0), Err(AdjustmentError::Zero));
        assert_eq!(
            apply_adjustment(i32::MAX, 0, 1),
            Err(AdjustmentError::Overflow)
        );
    }

    #[test]
    fn settlement_charges_the_delivered_share() {
        // All delivered: the price; nothing delivered at all (no insights): the price too.
        assert_eq!(settlement_charge(400, 6, 0, false), 400);
        assert_eq!(settlement_charge(400, 0, 0, false), 400);
        // Some failed: the delivered share, rounded down.
        assert_eq!(settlement_charge(400, 5, 1, false), 333);
        assert_eq!(settlement_charge(400, 4, 2, false), 266);
        // Exactly half failed still charges half; more than half charges nothing.
        assert_eq!(settlement_charge(400, 3, 3, false), 200);
        assert_eq!(settlement_charge(400, 2, 4, false), 0);
        assert_eq!(settlement_charge(400, 0, 6, false), 0);
        // A refund or a deadline before settling charges nothing.
        assert_eq!(settlement_charge(400, 6, 0, true), 0);
        assert_eq!(settlement_charge(400, 3, 1, true), 0);
        // No overflow for large prices.
        assert_eq!(settlement_charge(i32::MAX, 1, 1, false), i32::MAX / 2);
    }
}
