//! The payment providers' REST APIs: Stripe PaymentIntents and Razorpay Orders (and a
//! Razorpay payment fetch for the checkout verification), one `reqwest::Client` per vendor
//! with timeouts and a configurable base URL, plus the webhook secrets.
//!
//! Outside `routes/` because it is state, not a route: [`crate::AppState`] holds the clients
//! and the binary builds them; the payment routes only call them.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Secret;

/// How long one call to a provider may take in all, and to connect.
const TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The configured payment providers. Either may be absent; each piece (API keys, webhook
/// secret) may be absent too, and what needs it answers 503 naming the variable to set.
#[derive(Debug, Default)]
pub struct PaymentProviders {
    pub razorpay: Option<RazorpayClient>,
    pub stripe: Option<StripeClient>,
}

/// Razorpay settings, from `RAZORPAY_*`.
#[derive(Debug, Clone)]
pub struct RazorpaySettings {
    /// `https://api.razorpay.com` in production.
    pub api_base: String,
    /// `rzp_…` key id and its secret (Orders API, checkout signatures); both or neither.
    pub keys: Option<(String, Secret)>,
    /// The per-webhook secret set in the Dashboard (need not equal the key secret).
    pub webhook_secret: Option<Secret>,
}

/// Stripe settings, from `STRIPE_*`.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com` in production.
    pub api_base: String,
    /// `sk_…` (PaymentIntents).
    pub secret_key: Option<Secret>,
    /// `whsec_…`, used as-is (not base64-decoded) for `Stripe-Signature`.
    pub webhook_secret: Option<Secret>,
}

/// A provider call that did not produce what we asked for. Logged in full; clients get a
/// sentence without it.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    #[error("{vendor} could not be reached: {source}")]
    Unreachable {
        vendor: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{vendor} answered {status}: {body}")]
    Refused {
        vendor: &'static str,
        status: u16,
        body: String,
    },
    #[error("{vendor} answered something unexpected: {0}", vendor = .1)]
    Unexpected(String, &'static str),
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()?)
}

/// Sends a request and decodes a 2xx JSON body; anything else is a [`VendorError`].
async fn call<T: for<'de> Deserialize<'de>>(
    vendor: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<T, VendorError> {
    let unreachable = |source| VendorError::Unreachable { vendor, source };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let body = response.text().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(VendorError::Refused {
            vendor,
            status: status.as_u16(),
            body: body.chars().take(500).collect(),
        });
    }
    serde_json::from_str(&body).map_err(|e| VendorError::Unexpected(e.to_string(), vendor))
}

/// Razorpay's REST API (HTTP Basic with the key id and secret).
#[derive(Debug)]
pub struct RazorpayClient {
    http: reqwest::Client,
    settings: RazorpaySettings,
}

/// A Razorpay order (`order_…`).
#[derive(Debug, Clone, Deserialize)]
pub struct RazorpayOrder {
    pub id: String,
    pub amount: i64,
    pub currency: String,
}

/// A Razorpay payment (`pay_…`) as `GET /v1/payments/{id}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RazorpayPayment {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `created`, `authorized`, `captured`, `refunded`, `failed`.
    pub status: String,
    pub order_id: Option<String>,
}

/// What a new Razorpay order carries besides its amount.
#[derive(Debug, Clone)]
pub struct NewRazorpayOrder<'a> {
    pub amount: i64,
    pub receipt: &'a str,
    pub notes: Value,
}

impl RazorpayClient {
    pub fn new(settings: RazorpaySettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: http_client()?,
            settings,
        })
    }

    /// The key secret, when the API keys are configured.
    pub fn key_secret(&self) -> Option<&Secret> {
        self.settings.keys.as_ref().map(|(_, secret)| secret)
    }

    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.settings.webhook_secret.as_ref()
    }

    pub fn has_keys(&self) -> bool {
        self.settings.keys.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_base.trim_end_matches('/'))
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.settings.keys {
            Some((id, secret)) => request.basic_auth(id, Some(secret.expose())),
            None => request,
        }
    }

    /// `POST /v1/orders`: an INR order for `amount` paise.
    #[tracing::instrument(skip_all, fields(receipt = order.receipt), err)]
    pub async fn create_order(
        &self,
        order: NewRazorpayOrder<'_>,
    ) -> Result<RazorpayOrder, VendorError> {
        let body = json!({
            "amount": order.amount,
            "currency": "INR",
            "receipt": order.receipt,
            "notes": order.notes,
            "partial_payment": false,
        });
        let request = self
            .authorised(self.http.post(self.url("/v1/orders")))
            .json(&body);
        call("Razorpay", request).await
    }

    /// `GET /v1/payments/{id}`.
    #[tracing::instrument(skip(self), err)]
    pub async fn fetch_payment(&self, payment_id: &str) -> Result<RazorpayPayment, VendorError> {
        let url = self.url(&format!("/v1/payments/{payment_id}"));
        call("Razorpay", self.authorised(self.http.get(url))).await
    }
}

/// Stripe's REST API (bearer secret key, form-encoded bodies).
#[derive(Debug)]
pub struct StripeClient {
    http: reqwest::Client,
    settings: StripeSettings,
}

/// A Stripe PaymentIntent (`pi_…`).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: Option<String>,
    pub amount: i64,
    pub currency: String,
}

/// What a new PaymentIntent carries besides its amount.
#[derive(Debug, Clone)]
pub struct NewPaymentIntent<'a> {
    pub amount: i64,
    /// Metadata pairs (strings, as Stripe stores them).
    pub metadata: Vec<(&'static str, String)>,
    /// Makes a retried create return the same PaymentIntent.
    pub idempotency_key: &'a str,
}

impl StripeClient {
    pub fn new(settings: StripeSettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: http_client()?,
            settings,
        })
    }

    pub fn has_secret_key(&self) -> bool {
        self.settings.secret_key.is_some()
    }

    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.settings.webhook_secret.as_ref()
    }

    /// `POST /v1/payment_intents`: a USD PaymentIntent for `amount` cents.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_payment_intent(
        &self,
        intent: NewPaymentIntent<'_>,
    ) -> Result<PaymentIntent, VendorError> {
        let mut form: Vec<(String, String)> = vec![
            ("amount".into(), intent.amount.to_string()),
            ("currency".into(), "usd".into()),
            ("automatic_payment_methods[enabled]".into(), "true".into()),
        ];
        form.extend(
            intent
                .metadata
                .into_iter()
                .map(|(k, v)| (format!("metadata[{k}]"), v)),
        );
        let url = format!(
            "{}/v1/payment_intents",
            self.settings.api_base.trim_end_matches('/')
        );
        let mut request = self
            .http
            .post(url)
            .header("Idempotency-Key", intent.idempotency_key)
            .form(&form);
        if let Some(key) = &self.settings.secret_key {
            request = request.bearer_auth(key.expose());
        }
        call("Stripe", request).await
    }
}
