//! Rules of buying coins: providers and currencies, prices in minor units, what a payment
//! must match before it credits anything, how much a refund claws back, and the webhook
//! signatures and event shapes of Stripe and Razorpay. Pure: the API and the activities do
//! the I/O.

pub mod events;
pub mod signature;

use serde::{Deserialize, Serialize};

/// A payment provider. Stored lowercase (`payment_orders.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Razorpay,
    Stripe,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Self::Razorpay, Self::Stripe];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Razorpay => "razorpay",
            Self::Stripe => "stripe",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// Razorpay sells in rupees, Stripe in dollars (as the frontend shows the prices).
    pub fn currency(self) -> Currency {
        match self {
            Self::Razorpay => Currency::Inr,
            Self::Stripe => Currency::Usd,
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A currency we sell in. Stored upper-case (`payment_orders.currency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Inr,
    Usd,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inr => "INR",
            Self::Usd => "USD",
        }
    }

    /// Case-insensitive: Stripe writes `usd`, Razorpay `INR`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "INR" => Some(Self::Inr),
            "USD" => Some(Self::Usd),
            _ => None,
        }
    }
}

/// Why a price cannot be charged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("the price {0:?} is not a decimal amount with at most two decimals")]
    NotAPrice(String),
    #[error("the price {0:?} is not positive or too large")]
    OutOfRange(String),
}

/// A decimal price such as `"399.00"` or `"4.99"` in minor units (paise, cents), exactly:
/// no floating point, and a third decimal is refused rather than rounded away.
pub fn minor_units(price: &str) -> Result<i32, PriceError> {
    let not_a_price = || PriceError::NotAPrice(price.to_owned());
    let (whole, frac) = price.trim().split_once('.').unwrap_or((price.trim(), ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!frac.is_empty() && !digits(frac)) || frac.len() > 2 {
        return Err(not_a_price());
    }
    let whole: i64 = whole.parse().map_err(|_| not_a_price())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| not_a_price())?;
    let minor = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(|| PriceError::OutOfRange(price.to_owned()))?;
    match i32::try_from(minor) {
        Ok(m) if m > 0 => Ok(m),
        _ => Err(PriceError::OutOfRange(price.to_owned())),
    }
}

/// Why a payment does not pay for its order (the order is flagged for an operator).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentMismatch {
    #[error("paid in {paid} but the order is in {expected}")]
    Currency { expected: String, paid: String },
    #[error("paid {paid} minor units of {currency} but the order costs {expected}")]
    Amount {
        expected: i64,
        paid: i64,
        currency: String,
    },
}

/// Checks a captured payment against its order: the same currency and at least the amount.
/// Paying more than asked still buys the package (and is logged by the caller).
pub fn check_payment(
    order_amount: i64,
    order_currency: &str,
    paid_amount: i64,
    paid_currency: &str,
) -> Result<(), PaymentMismatch> {
    let same_currency = matches!(
        (Currency::parse(order_currency), Currency::parse(paid_currency)),
        (Some(a), Some(b)) if a == b
    );
    if !same_currency {
        return Err(PaymentMismatch::Currency {
            expected: order_currency.to_owned(),
            paid: paid_currency.to_owned(),
        });
    }
    if paid_amount < order_amount {
        return Err(PaymentMismatch::Amount {
            expected: order_amount,
            paid: paid_amount,
            currency: order_currency.to_ascii_uppercase(),
        });
    }
    Ok(())
}

/// Ledger idempotency key of a purchase: one credit per provider payment, enforced by the
/// unique index on `credit_transactions.idempotency_key`.
pub fn purchase_key(provider: Provider, provider_payment_id: &str) -> String {
    format!("purchase:{provider}:{provider_payment_id}")
}

/// Ledger idempotency key of a refund's claw-back.
pub fn payment_refund_key(provider: Provider, provider_refund_id: &str) -> String {
    format!("payment_refund:{provider}:{provider_refund_id}")
}

/// Coins a refund takes back when the refunded total of an order moves from `before` to
/// `after` (minor units). Proportional and computed on totals, so partial refunds add up to
/// exactly the package's coins when the whole price has been refunded.
pub fn refund_coins(order_coins: i32, order_amount: i64, before: i64, after: i64) -> i32 {
    if order_amount <= 0 {
        return 0;
    }
    let share = |refunded: i64| {
        let refunded = refunded.clamp(0, order_amount);
        i64::from(order_coins) * refunded / order_amount
    };
    i32::try_from(share(after) - share(before))
        .unwrap_or(0)
        .max(0)
}

/// What a claw-back takes and what it could not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clawback {
    /// Coins removed from the balance (a `payment_refund` ledger row when > 0).
    pub clawed: i32,
    /// Coins already spent or held by a running unlock: recorded, and the account flagged.
    pub shortfall: i32,
}

/// Takes `due` coins back from what is available (`balance − held`): never below zero, never
/// coins a running unlock holds.
pub fn clawback(due: i32, balance: i32, held: i32) -> Clawback {
    let available = balance.saturating_sub(held).max(0);
    let clawed = due.max(0).min(available);
    Clawback {
        clawed,
        shortfall: due.max(0) - clawed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_and_currencies_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert_eq!(Provider::parse("paypal"), None);
        assert_eq!(Provider::Razorpay.currency(), Currency::Inr);
        assert_eq!(Currency::parse("usd"), Some(Currency::Usd));
        assert_eq!(serde_json::to_string(&Currency::Inr).unwrap(), "\"INR\"");
    }

    #[test]
    fn prices_become_exact_minor_units() {
        assert_eq!(minor_units("399.00"), Ok(39_900));
        assert_eq!(minor_units("4.99"), Ok(499));
        assert_eq!(minor_units("17.9"), Ok(1_790));
        assert_eq!(minor_units("5"), Ok(500));
        assert_eq!(minor_units("1499.00"), Ok(149_900));
        for bad in ["", "abc", "4.999", "-1.00", "1.-1", ".5", "1e3", "4,99"] {
            assert!(minor_units(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            minor_units("0.00"),
            Err(PriceError::OutOfRange(_))
        ));
        assert!(matches!(
            minor_units("99999999.00"),
            Err(PriceError::OutOfRange(_))
        ));
    }

    #[test]
    fn payments_must_match_currency_and_amount() {
        assert_eq!(check_payment(39_900, "INR", 39_900, "INR"), Ok(()));
        assert_eq!(check_payment(499, "USD", 499, "usd"), Ok(()));
        assert_eq!(check_payment(499, "USD", 500, "usd"), Ok(()));
        assert!(matches!(
            check_payment(39_900, "INR", 39_899, "INR"),
            Err(PaymentMismatch::Amount { paid: 39_899, .. })
        ));
        assert!(matches!(
            check_payment(499, "USD", 499, "eur"),
            Err(PaymentMismatch::Currency { .. })
        ));
        assert!(matches!(
            check_payment(499, "USD", 499, ""),
            Err(PaymentMismatch::Currency { .. })
        ));
    }

    #[test]
    fn refunds_are_proportional_and_add_up() {
        assert_eq!(refund_coins(400, 39_900, 0, 39_900), 400);
        assert_eq!(refund_coins(400, 39_900, 0, 19_950), 200);
        // Three partial refunds add up to the whole package.
        let steps = [0, 10_000, 25_000, 39_900];
        let total: i32 = steps
            .windows(2)
            .map(|w| refund_coins(850, 39_900, w[0], w[1]))
            .sum();
        assert_eq!(total, 850);
        // More than the price refunded takes no more than the package; going back takes nothing.
        assert_eq!(refund_coins(400, 39_900, 0, 50_000), 400);
        assert_eq!(refund_coins(400, 39_900, 30_000, 10_000), 0);
        assert_eq!(refund_coins(400, 0, 0, 100), 0);
    }

    #[test]
    fn clawback_never_goes_below_zero_or_into_held_coins() {
        assert_eq!(
            clawback(400, 450, 0),
            Clawback {
                clawed: 400,
                shortfall: 0
            }
        );
        assert_eq!(
            clawback(400, 150, 0),
            Clawback {
                clawed: 150,
                shortfall: 250
            }
        );
        assert_eq!(
            clawback(400, 450, 100),
            Clawback {
                clawed: 350,
                shortfall: 50
            }
        );
        assert_eq!(
            clawback(400, 50, 100),
            Clawback {
                clawed: 0,
                shortfall: 400
            }
        );
        assert_eq!(
            clawback(0, 50, 0),
            Clawback {
                clawed: 0,
                shortfall: 0
            }
        );
    }

    #[test]
    fn ledger_keys() {
        assert_eq!(
            purchase_key(Provider::Stripe, "pi_1"),
            "purchase:stripe:pi_1"
        );
        assert_eq!(
            payment_refund_key(Provider::Razorpay, "rfnd_1"),
            "payment_refund:razorpay:rfnd_1"
        );
    }
}
