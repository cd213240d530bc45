//! Fake Stripe and Razorpay REST servers speaking their real REST shapes (orders, payments, refunds),
//! and builders for their signed webhooks.
//!
//! Stripe: `POST /v1/payment_intents` (form body, bearer key, `Idempotency-Key` honoured).
//! Razorpay: `POST /v1/orders` (JSON, HTTP Basic), `GET /v1/payments/{id}` (payments the test
//! registers). Both record what they were sent.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Form, Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use relivchats_domain::payments::signature;
use serde_json::{Value, json};

/// Secrets the fakes and the app under test share (the §7 test-vector secrets).
pub const RAZORPAY_KEY_ID: &str = "rzp_test_relivchats";
pub const RAZORPAY_KEY_SECRET: &str = "key_secret_test";
pub const RAZORPAY_WEBHOOK_SECRET: &str = "wh_secret_test";
pub const STRIPE_SECRET_KEY: &str = "sk_test_relivchats";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_test_secret";

/// A request a fake received: its authorization header and decoded body.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub body: Value,
}

/// Both fake providers on one local server.
#[derive(Clone, Default)]
pub struct FakePayments {
    pub base_url: String,
    counter: Arc<AtomicUsize>,
    pub razorpay_orders: Arc<Mutex<Vec<Recorded>>>,
    pub stripe_intents: Arc<Mutex<Vec<Recorded>>>,
    /// Stripe `Idempotency-Key` → the PaymentIntent first returned for it.
    stripe_by_key: Arc<Mutex<HashMap<String, Value>>>,
    /// Razorpay payments `GET /v1/payments/{id}` returns.
    pub razorpay_payments: Arc<Mutex<HashMap<String, Value>>>,
}

impl FakePayments {
    /// Starts the server on a free port.
    pub async fn start() -> Self {
        let mut fake = Self::default();
        let router = Router::new()
            .route("/v1/orders", post(razorpay_create_order))
            .route("/v1/payments/{id}", get(razorpay_fetch_payment))
            .route("/v1/payment_intents", post(stripe_create_intent))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        fake
    }

    /// The variables that point the app at these fakes with every piece configured.
    pub fn env(&self) -> HashMap<String, String> {
        [
            ("RAZORPAY_KEY_ID", RAZORPAY_KEY_ID),
            ("RAZORPAY_KEY_SECRET", RAZORPAY_KEY_SECRET),
            ("RAZORPAY_WEBHOOK_SECRET", RAZORPAY_WEBHOOK_SECRET),
            ("RAZORPAY_API_BASE", &self.base_url),
            ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
            ("STRIPE_API_BASE", &self.base_url),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Provider ids are globally unique, like the real ones: workflow ids are built from them
    /// and every test shares one Temporal namespace.
    fn next_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}_{}{n:03}", &unique_suffix()[..10])
    }
}

fn recorded(headers: &HeaderMap, body: Value) -> Recorded {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Recorded {
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        body,
    }
}

fn razorpay_error(description: &str, field: &str) -> Response {
    let body = json!({"error": {"code": "BAD_REQUEST_ERROR", "description": description,
        "source": "business", "step": "payment_initiation", "reason": "input_validation_failed",
        "metadata": {}, "field": field}});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn razorpay_create_order(
    State(fake): State<FakePayments>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    fake.razorpay_orders
        .lock()
        .unwrap()
        .push(recorded(&headers, body.clone()));
    let amount = body["amount"].as_i64().unwrap_or(0);
    if amount < 100 {
        return razorpay_error("The amount must be at least INR 1.00", "amount");
    }
    let order = json!({
        "id": fake.next_id("order"), "entity": "order", "amount": amount, "amount_paid": 0,
        "amount_due": amount, "currency": body["currency"], "receipt": body["receipt"],
        "offer_id": null, "status": "created", "attempts": 0, "notes": body["notes"],
        "created_at": chrono::Utc::now().timestamp(),
    });
    Json(order).into_response()
}

async fn razorpay_fetch_payment(
    State(fake): State<FakePayments>,
    Path(id): Path<String>,
) -> Response {
    match fake.razorpay_payments.lock().unwrap().get(&id) {
        Some(payment) => Json(payment.clone()).into_response(),
        None => razorpay_error("The id provided does not exist", "id"),
    }
}

async fn stripe_create_intent(
    State(fake): State<FakePayments>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let body = serde_json::to_value(&form).unwrap();
    let record = recorded(&headers, body);
    let key = record.idempotency_key.clone();
    fake.stripe_intents.lock().unwrap().push(record);
    if let Some(existing) = key
        .as_ref()
        .and_then(|k| fake.stripe_by_key.lock().unwrap().get(k).cloned())
    {
        return Json(existing).into_response();
    }
    let id = fake.next_id("pi");
    let metadata: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((key.to_owned(), json!(v)))
        })
        .collect();
    let intent = json!({
        "id": id, "object": "payment_intent",
        "amount": form.get("amount").and_then(|a| a.parse::<i64>().ok()),
        "currency": form.get("currency"), "status": "requires_payment_method",
        "client_secret": format!("{id}_secret_fake"), "metadata": metadata, "livemode": false,
    });
    if let Some(k) = key {
        fake.stripe_by_key.lock().unwrap().insert(k, intent.clone());
    }
    Json(intent).into_response()
}

/// Random alphanumerics for ids that must not collide across tests and runs.
pub fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A provider-style id (`pay_…`, `rfnd_…`) unique across tests and runs.
pub fn unique_id(prefix: &str) -> String {
    format!("{prefix}_{}", &unique_suffix()[..14])
}

/// A Razorpay payment entity.
pub fn razorpay_payment(payment_id: &str, order_id: &str, amount: i64, currency: &str) -> Value {
    json!({"id": payment_id, "entity": "payment", "amount": amount, "currency": currency,
           "status": "captured", "order_id": order_id, "method": "upi", "captured": true,
           "email": "buyer@example.com", "notes": {}})
}

/// A Razorpay webhook body (`payment.captured`, `order.paid`, `refund.processed` …).
pub fn razorpay_event(event: &str, payload: Value) -> Vec<u8> {
    let contains: Vec<&str> = payload
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    json!({"entity": "event", "account_id": "acc_FakeAccount", "event": event,
           "contains": contains, "payload": payload, "created_at": chrono::Utc::now().timestamp()})
    .to_string()
    .into_bytes()
}

/// `X-Razorpay-Signature` for a body.
pub fn razorpay_signature(body: &[u8]) -> String {
    signature::razorpay_signature(RAZORPAY_WEBHOOK_SECRET, body)
}

/// A Stripe event body.
pub fn stripe_event(event_id: &str, kind: &str, object: Value) -> Vec<u8> {
    json!({"id": event_id, "object": "event", "api_version": "2025-01-27.acacia",
           "created": chrono::Utc::now().timestamp(), "livemode": false, "pending_webhooks": 1,
           "request": {"id": null, "idempotency_key": null}, "type": kind,
           "data": {"object": object}})
    .to_string()
    .into_bytes()
}

/// A `Stripe-Signature` header for a body signed at `timestamp`.
pub fn stripe_signature(body: &[u8], timestamp: i64) -> String {
    signature::stripe_signature_header(STRIPE_WEBHOOK_SECRET, timestamp, body)
}
