//! Payments end to end: orders through fake Stripe and Razorpay servers, signed webhooks into
//! the real app, the `TopUp` and `RefundPayment` workflows on the Temporal dev server, and the
//! ledger in a fresh Postgres database. The invariant balance == sum(ledger) is checked after
//! every scenario.

use std::{collections::HashMap, time::Duration};

use relivchats::{Application, Config, Role, payments::list_orders};
use relivchats_api::{AppState, auth::Authenticator};
use relivchats_domain::{
    UserId,
    contracts::payments::{TopUpDefinition, top_up_workflow_id},
    crypto::Cipher,
    payments::Provider,
};
use relivchats_tests::{
    TestApp, TestDatabase, assert_error_shape,
    fake_payments::{
        FakePayments, RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, razorpay_event, razorpay_payment,
        razorpay_signature, stripe_event, stripe_signature, unique_id,
    },
    json, temporal_server, wait_until,
};
use serde_json::{Value, json};
use temporalio_client::{WorkflowCountOptions, WorkflowGetResultOptions};
use tokio::sync::oneshot;
use uuid::Uuid;

mod durability;
mod orders;
mod refunds;
mod webhooks;

/// The seed's "Starter" package: 400 coins, USD 4.99, INR 399.00.
const STARTER: &str = "0a239d4f-a14f-48c5-bfb9-d84b57af44ff";
/// The seed's "Popular" package.
const POPULAR: &str = "280b8338-1e03-414a-8d24-d9f435ad653b";
const BONUS: i64 = 50;

struct Shop {
    app: TestApp,
    fake: FakePayments,
}

impl Shop {
    async fn open() -> Self {
        let fake = FakePayments::start().await;
        let app = TestApp::spawn_with(fake.env()).await;
        Self { app, fake }
    }

    async fn create_order(&self, user: &str, body: Value) -> reqwest::Response {
        self.app
            .http
            .post(self.app.url("/api/payments/orders"))
            .bearer_auth(self.app.token(user))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A new order of the Starter package; returns the response body.
    async fn order(&self, user: &str, provider: &str) -> Value {
        let response = self
            .create_order(user, json!({"package_id": STARTER, "provider": provider}))
            .await;
        assert_eq!(response.status(), 200);
        json(response).await
    }

    async fn razorpay_webhook(
        &self,
        body: &[u8],
        event_id: Option<&str>,
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .post(self.app.url("/api/payments/webhooks/razorpay"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(id) = event_id {
            request = request.header("X-Razorpay-Event-Id", id);
        }
        if let Some(sig) = signature {
            request = request.header("X-Razorpay-Signature", sig);
        }
        request.send().await.unwrap()
    }

    async fn stripe_webhook(&self, body: &[u8], signature: Option<&str>) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .post(self.app.url("/api/payments/webhooks/stripe"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(sig) = signature {
            request = request.header("Stripe-Signature", sig);
        }
        request.send().await.unwrap()
    }

    /// A correctly signed Stripe webhook, signed now.
    async fn signed_stripe(&self, body: &[u8]) -> reqwest::Response {
        let header = stripe_signature(body, chrono::Utc::now().timestamp());
        self.stripe_webhook(body, Some(&header)).await
    }

    async fn balance(&self, user: &str) -> i64 {
        let (balance, ledger) = self.app.balance_and_ledger(user).await;
        assert_eq!(balance, ledger, "balance must equal the sum of the ledger");
        balance
    }

    async fn count(&self, sql: &str, bind: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn purchases(&self, user: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM credit_transactions WHERE user_id = $1 AND type = 'purchase'",
            user,
        )
        .await
    }

    async fn order_status(&self, order_id: &str) -> String {
        sqlx::query_scalar("SELECT status FROM payment_orders WHERE id = $1::UUID")
            .bind(order_id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    /// Polls (never a fixed sleep) until the user's balance is `expected`.
    async fn wait_for_balance(&self, user: &str, expected: i64) {
        wait_until(
            &format!("{user}'s balance to reach {expected}"),
            Duration::from_secs(60),
            || async { self.app.balance_and_ledger(user).await.0 == expected },
        )
        .await;
    }

    async fn wait_for_order_status(&self, order_id: &str, expected: &str) {
        wait_until(
            &format!("order {order_id} to be {expected}"),
            Duration::from_secs(60),
            || async { self.order_status(order_id).await == expected },
        )
        .await;
    }

    /// Waits for the top-up workflow of a payment to finish; returns its outcome.
    async fn top_up_result(&self, provider: Provider, payment_id: &str) -> Value {
        let handle = self
            .app
            .temporal
            .get_workflow_handle::<TopUpDefinition>(top_up_workflow_id(provider, payment_id));
        let out = tokio::time::timeout(
            Duration::from_secs(30),
            handle.get_result(WorkflowGetResultOptions::default()),
        )
        .await
        .expect("the top-up finishes")
        .expect("the top-up succeeds");
        serde_json::to_value(out).unwrap()
    }
}

fn razorpay_paid(event: &str, order_id: &str, payment_id: &str, amount: i64) -> Vec<u8> {
    let mut payload =
        json!({"payment": {"entity": razorpay_payment(payment_id, order_id, amount, "INR")}});
    if event == "order.paid" {
        payload["order"] = json!({"entity": {"id": order_id, "entity": "order", "amount": amount,
            "amount_paid": amount, "amount_due": 0, "currency": "INR", "status": "paid"}});
    }
    razorpay_event(event, payload)
}

fn stripe_succeeded(event_id: &str, intent: &str, amount: i64, currency: &str) -> Vec<u8> {
    stripe_event(
        event_id,
        "payment_intent.succeeded",
        json!({"id": intent, "object": "payment_intent", "amount": amount,
               "amount_received": amount, "currency": currency, "status": "succeeded"}),
    )
}

fn stripe_refunded(event_id: &str, intent: &str, amount_refunded: i64) -> Vec<u8> {
    stripe_event(
        event_id,
        "charge.refunded",
        json!({"id": format!("ch_{intent}"), "object": "charge", "amount": 499,
               "amount_refunded": amount_refunded, "currency": "usd", "payment_intent": intent,
               "refunded": amount_refunded >= 499}),
    )
}
