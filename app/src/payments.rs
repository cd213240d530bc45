//! Payment configuration (`RAZORPAY_*`, `STRIPE_*`) and the provider clients built from it.
//!
//! A provider none of whose variables is set is off: its routes answer 503 with the variables
//! to set. Secrets are held in [`Secret`], whose `Debug` never prints them.

use std::collections::HashMap;

use anyhow::{Context, bail};
use relivchats_api::{
    auth::Secret,
    routes::payments::{
        PaymentProviders, RazorpayClient, RazorpaySettings, StripeClient, StripeSettings,
    },
};

const RAZORPAY_API: &str = "https://api.razorpay.com";
const STRIPE_API: &str = "https://api.stripe.com";

/// Which payment providers this process talks to.
#[derive(Debug, Clone, Default)]
pub struct PaymentsConfig {
    pub razorpay: Option<RazorpaySettings>,
    pub stripe: Option<StripeSettings>,
}

impl PaymentsConfig {
    /// Reads the `RAZORPAY_*` and `STRIPE_*` variables (empty means unset).
    pub fn from_map(vars: &HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |key: &str| crate::config::lookup(vars, key);
        Ok(Self {
            razorpay: razorpay(&get)?,
            stripe: stripe(&get)?,
        })
    }

    /// One client per configured provider (each with its own `reqwest::Client`).
    pub fn providers(&self) -> anyhow::Result<PaymentProviders> {
        Ok(PaymentProviders {
            razorpay: self.razorpay.clone().map(RazorpayClient::new).transpose()?,
            stripe: self.stripe.clone().map(StripeClient::new).transpose()?,
        })
    }
}

fn api_base(value: Option<String>, default: &str, key: &str) -> anyhow::Result<String> {
    let base = value.unwrap_or_else(|| default.to_owned());
    url::Url::parse(&base).with_context(|| format!("{key} must be a URL such as {default}"))?;
    Ok(base.trim_end_matches('/').to_owned())
}

fn razorpay(get: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<RazorpaySettings>> {
    let keys = match (get("RAZORPAY_KEY_ID"), get("RAZORPAY_KEY_SECRET")) {
        (Some(id), Some(secret)) => Some((id, Secret::new(secret))),
        (None, None) => None,
        _ => bail!("RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET must be set together"),
    };
    let webhook_secret = get("RAZORPAY_WEBHOOK_SECRET").map(Secret::new);
    if keys.is_none() && webhook_secret.is_none() {
        return Ok(None);
    }
    Ok(Some(RazorpaySettings {
        api_base: api_base(get("RAZORPAY_API_BASE"), RAZORPAY_API, "RAZORPAY_API_BASE")?,
        keys,
        webhook_secret,
    }))
}

fn stripe(get: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<StripeSettings>> {
    let secret_key = get("STRIPE_SECRET_KEY").map(Secret::new);
    let webhook_secret = get("STRIPE_WEBHOOK_SECRET").map(Secret::new);
    if secret_key.is_none() && webhook_secret.is_none() {
        return Ok(None);
    }
    Ok(Some(StripeSettings {
        api_base: api_base(get("STRIPE_API_BASE"), STRIPE_API, "STRIPE_API_BASE")?,
        secret_key,
        webhook_secret,
    }))
}

/// Statuses an order can have (`payment_orders.status`).
pub const ORDER_STATUSES: [&str; 6] = [
    "pending",
    "processing",
    "completed",
    "failed",
    "refunded",
    "flagged",
];

/// One line of `relivchats admin orders`.
#[derive(Debug, serde::Serialize, sqlx::FromRow)]
pub struct OrderLine {
    pub id: uuid::Uuid,
    pub user_id: String,
    pub provider: String,
    pub provider_order_id: String,
    pub provider_payment_id: Option<String>,
    pub amount: i32,
    pub currency: String,
    pub coins: i32,
    pub status: String,
    /// Why an operator should look (amount or currency mismatch …).
    pub flag_reason: Option<String>,
    pub webhook_count: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Orders for an operator, newest first, optionally only those with `status`.
pub async fn list_orders(
    pool: &sqlx::PgPool,
    status: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<OrderLine>> {
    if let Some(s) = status.filter(|s| !ORDER_STATUSES.contains(s)) {
        bail!(
            "--status must be one of {}, not {s:?}",
            ORDER_STATUSES.join(", ")
        );
    }
    let orders = sqlx::query_as(
        r#"SELECT id, user_id, provider, provider_order_id, provider_payment_id, amount, currency,
                  coins, status, flag_reason, webhook_count, created_at, completed_at
           FROM payment_orders WHERE ($1::TEXT IS NULL OR status = $1)
           ORDER BY created_at DESC, id LIMIT $2"#,
    )
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(orders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::map;

    #[test]
    fn nothing_set_means_payments_off() {
        let config = PaymentsConfig::from_map(&map(&[("STRIPE_SECRET_KEY", " ")])).unwrap();
        assert!(config.razorpay.is_none() && config.stripe.is_none());
    }

    #[test]
    fn defaults_to_the_real_apis_and_redacts_secrets() {
        let config = PaymentsConfig::from_map(&map(&[
            ("RAZORPAY_KEY_ID", "rzp_test_1"),
            ("RAZORPAY_KEY_SECRET", "very-secret"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_secret"),
            ("STRIPE_API_BASE", "http://127.0.0.1:9999/"),
        ]))
        .unwrap();
        let razorpay = config.razorpay.as_ref().unwrap();
        assert_eq!(razorpay.api_base, RAZORPAY_API);
        assert!(razorpay.webhook_secret.is_none());
        let stripe = config.stripe.as_ref().unwrap();
        assert_eq!(stripe.api_base, "http://127.0.0.1:9999");
        assert!(stripe.secret_key.is_none());
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("very-secret") && !debug.contains("whsec_secret"),
            "{debug}"
        );
        config.providers().unwrap();
    }

    #[test]
    fn half_a_key_pair_or_a_bad_url_is_refused() {
        let err = PaymentsConfig::from_map(&map(&[("RAZORPAY_KEY_ID", "rzp_test_1")])).unwrap_err();
        assert!(err.to_string().contains("together"), "{err}");
        let err = PaymentsConfig::from_map(&map(&[
            ("STRIPE_SECRET_KEY", "sk_test"),
            ("STRIPE_API_BASE", "not a url"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("STRIPE_API_BASE"), "{err}");
    }
}
