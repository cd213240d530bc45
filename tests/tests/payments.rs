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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_created_with_the_providers_and_scoped_to_their_owner() {
    let shop = Shop::open().await;

    let razorpay = shop.order("buyer-a", "razorpay").await;
    assert_eq!(razorpay["amount"], 39_900);
    assert_eq!(razorpay["currency"], "INR");
    assert_eq!(razorpay["coins"], 400);
    assert_eq!(razorpay["provider"], "razorpay");
    assert!(razorpay["client_secret"].is_null() && razorpay["checkout_url"].is_null());
    assert!(
        razorpay["provider_order_id"]
            .as_str()
            .unwrap()
            .starts_with("order_")
    );
    {
        let sent = shop.fake.razorpay_orders.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].body["amount"], 39_900);
        assert_eq!(sent[0].body["currency"], "INR");
        assert_eq!(sent[0].body["notes"]["user_id"], "buyer-a");
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{RAZORPAY_KEY_ID}:{RAZORPAY_KEY_SECRET}"));
        assert_eq!(
            sent[0].authorization.as_deref(),
            Some(format!("Basic {basic}").as_str())
        );
    }

    let stripe = shop.order("buyer-a", "stripe").await;
    assert_eq!(stripe["amount"], 499);
    assert_eq!(stripe["currency"], "USD");
    let intent = stripe["provider_order_id"].as_str().unwrap();
    assert!(intent.starts_with("pi_"));
    assert_eq!(stripe["client_secret"], format!("{intent}_secret_fake"));
    {
        let sent = shop.fake.stripe_intents.lock().unwrap();
        assert_eq!(sent[0].body["currency"], "usd");
        assert_eq!(sent[0].body["metadata[user_id]"], "buyer-a");
        assert_eq!(
            sent[0].authorization.as_deref(),
            Some("Bearer sk_test_relivchats")
        );
        assert!(sent[0].idempotency_key.is_some());
    }

    // The same idempotency key returns the same order, without a second provider call.
    let keyed = json!({"package_id": STARTER, "provider": "razorpay", "idempotency_key": "k-1"});
    let first = json(shop.create_order("buyer-a", keyed.clone()).await).await;
    let again = json(shop.create_order("buyer-a", keyed.clone()).await).await;
    assert_eq!(first["order_id"], again["order_id"]);
    assert_eq!(shop.fake.razorpay_orders.lock().unwrap().len(), 2);
    // Keys are scoped to the user: another user's "k-1" is a different order.
    let other = json(shop.create_order("buyer-b", keyed).await).await;
    assert_ne!(other["order_id"], first["order_id"]);
    // Reusing a key for another package is refused.
    let changed = shop
        .create_order(
            "buyer-a",
            json!({"package_id": POPULAR, "provider": "razorpay", "idempotency_key": "k-1"}),
        )
        .await;
    assert_eq!(changed.status(), 409);

    // The owner sees the order; anyone else gets a 404.
    let path = format!(
        "/api/payments/orders/{}",
        razorpay["order_id"].as_str().unwrap()
    );
    let mine = shop.app.get(&path, Some(&shop.app.token("buyer-a"))).await;
    assert_eq!(mine.status(), 200);
    let mine = json(mine).await;
    assert_eq!(mine["status"], "pending");
    assert_eq!(mine["coins"], 400);
    assert!(mine["completed_at"].is_null());
    let theirs = shop.app.get(&path, Some(&shop.app.token("buyer-b"))).await;
    assert_eq!(theirs.status(), 404);
    assert_error_shape(&json(theirs).await);

    // Bad input is a 422 or 404 in the one error shape.
    let bad_provider = shop
        .create_order(
            "buyer-a",
            json!({"package_id": STARTER, "provider": "paypal"}),
        )
        .await;
    assert_eq!(bad_provider.status(), 422);
    assert_error_shape(&json(bad_provider).await);
    let bad_package = shop
        .create_order(
            "buyer-a",
            json!({"package_id": "nope", "provider": "stripe"}),
        )
        .await;
    assert_eq!(bad_package.status(), 422);
    let missing = shop
        .create_order(
            "buyer-a",
            json!({"package_id": Uuid::new_v4(), "provider": "stripe"}),
        )
        .await;
    assert_eq!(missing.status(), 404);
    assert_error_shape(&json(missing).await);

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_payment_credits_once_however_often_it_is_replayed() {
    let shop = Shop::open().await;
    // Unique on every run: the search below counts this user's top-ups on a dev server
    // that may have seen earlier runs.
    let user = &format!("payer-rzp-{}", Uuid::new_v4().simple());
    let order = shop.order(user, "razorpay").await;
    let order_id = order["order_id"].as_str().unwrap();
    let rzp_order = order["provider_order_id"].as_str().unwrap();
    let pay = unique_id("pay");

    let captured = razorpay_paid("payment.captured", rzp_order, &pay, 39_900);
    let sig = razorpay_signature(&captured);
    let first = shop
        .razorpay_webhook(&captured, Some("evt_cap_1"), Some(&sig))
        .await;
    assert_eq!(first.status(), 200);
    assert_eq!(json(first).await["outcome"], "topup_started");
    shop.wait_for_balance(user, BONUS + 400).await;
    let outcome = shop.top_up_result(Provider::Razorpay, &pay).await;
    assert_eq!(outcome["status"], "completed");
    assert_eq!(outcome["coins_credited"], 400);

    // The same event twenty times: acknowledged, nothing more.
    for _ in 0..20 {
        let replay = shop
            .razorpay_webhook(&captured, Some("evt_cap_1"), Some(&sig))
            .await;
        assert_eq!(replay.status(), 200);
        assert_eq!(json(replay).await["outcome"], "duplicate");
    }
    // order.paid for the same payment: the same workflow id, which already ran.
    let paid = razorpay_paid("order.paid", rzp_order, &pay, 39_900);
    let response = shop
        .razorpay_webhook(&paid, Some("evt_paid_1"), Some(&razorpay_signature(&paid)))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["outcome"], "topup_already_done");

    assert_eq!(shop.purchases(user).await, 1);
    assert_eq!(shop.balance(user).await, BONUS + 400);
    assert_eq!(shop.order_status(order_id).await, "completed");
    let events = shop
        .count(
            "SELECT COUNT(*) FROM webhook_events WHERE provider = $1",
            "razorpay",
        )
        .await;
    assert_eq!(events, 2, "every distinct event is stored once");
    let status = json(
        shop.app
            .get(
                &format!("/api/payments/orders/{order_id}"),
                Some(&shop.app.token(user)),
            )
            .await,
    )
    .await;
    assert_eq!(status["status"], "completed");
    assert!(status["completed_at"].is_string());

    // An operator finds the top-up by user and provider.
    let query =
        format!("WorkflowType = 'TopUp' AND UserId = '{user}' AND PaymentProvider = 'razorpay'");
    wait_until(
        "the top-up to be searchable",
        Duration::from_secs(60),
        || async {
            shop.app
                .temporal
                .count_workflows(query.clone(), WorkflowCountOptions::default())
                .await
                .is_ok_and(|c| c.count() == 1)
        },
    )
    .await;

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_deliveries_credit_once() {
    let shop = Shop::open().await;
    let user = "payer-concurrent";
    let order = shop.order(user, "stripe").await;
    let intent = order["provider_order_id"].as_str().unwrap().to_owned();

    // Half are one event delivered ten times at once, half are distinct events (as when the
    // provider sends several event types for one payment): all name the same payment.
    let deliveries = (0..20).map(|i| {
        let event_id = if i % 2 == 0 {
            "evt_same".to_owned()
        } else {
            format!("evt_{i}")
        };
        let body = stripe_succeeded(&event_id, &intent, 499, "usd");
        let shop = &shop;
        async move { shop.signed_stripe(&body).await.status() }
    });
    let statuses = futures::future::join_all(deliveries).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    shop.wait_for_balance(user, BONUS + 400).await;
    shop.top_up_result(Provider::Stripe, &intent).await;
    assert_eq!(shop.purchases(user).await, 1);
    assert_eq!(shop.balance(user).await, BONUS + 400);
    let events = shop
        .count(
            "SELECT COUNT(*) FROM webhook_events WHERE provider = $1",
            "stripe",
        )
        .await;
    assert_eq!(events, 11);

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_are_400_and_credit_nothing() {
    let shop = Shop::open().await;
    let user = "payer-forged";
    let rzp = shop.order(user, "razorpay").await;
    let rzp_order = rzp["provider_order_id"].as_str().unwrap();
    let stripe = shop.order(user, "stripe").await;
    let intent = stripe["provider_order_id"].as_str().unwrap();

    let body = razorpay_paid("payment.captured", rzp_order, "pay_Forged", 39_900);
    let good = razorpay_signature(&body);
    let wrong = razorpay_signature(b"another body");
    let mut changed = body.clone();
    let at = changed.len() - 2;
    changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
    let cases: [(&[u8], Option<&str>, &str); 3] = [
        (&body, Some(&wrong), "does not match"),
        (&body, None, "X-Razorpay-Signature"),
        (&changed, Some(&good), "does not match"),
    ];
    for (payload, sig, expected) in cases {
        let response = shop
            .razorpay_webhook(payload, Some("evt_forged"), sig)
            .await;
        assert_eq!(response.status(), 400);
        let body = json(response).await;
        assert_error_shape(&body);
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(expected),
            "{detail:?} should mention {expected:?}"
        );
    }

    let body = stripe_succeeded("evt_forged", intent, 499, "usd");
    let now = chrono::Utc::now().timestamp();
    let stale = stripe_signature(&body, now - 301);
    let other_secret =
        relivchats_domain::payments::signature::stripe_signature_header("whsec_other", now, &body);
    let mut changed = body.clone();
    let at = changed.iter().position(|b| *b == b'4').unwrap();
    changed[at] = b'9';
    let good = stripe_signature(&body, now);
    let cases: [(&[u8], Option<&str>, &str); 5] = [
        (&body, Some(&other_secret), "does not match"),
        (&body, None, "Stripe-Signature"),
        (&body, Some(&stale), "old"),
        (&changed, Some(&good), "does not match"),
        (&body, Some("t=now,v1=zz"), "malformed"),
    ];
    for (payload, sig, expected) in cases {
        let response = shop.stripe_webhook(payload, sig).await;
        assert_eq!(response.status(), 400, "{expected}");
        let body = json(response).await;
        assert_error_shape(&body);
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains(expected),
            "{detail:?} should mention {expected:?}"
        );
    }

    // Rejected before anything was stored or started.
    assert_eq!(
        shop.count(
            "SELECT COUNT(*) FROM webhook_events WHERE provider <> $1",
            "none"
        )
        .await,
        0
    );
    assert_eq!(shop.purchases(user).await, 0);
    assert_eq!(shop.balance(user).await, BONUS);
    assert_eq!(
        shop.order_status(rzp["order_id"].as_str().unwrap()).await,
        "pending"
    );
    assert_eq!(
        shop.order_status(stripe["order_id"].as_str().unwrap())
            .await,
        "pending"
    );

    // The genuine Stripe event still works afterwards.
    assert_eq!(shop.stripe_webhook(&body, Some(&good)).await.status(), 200);
    shop.wait_for_balance(user, BONUS + 400).await;

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn underpaid_or_wrong_currency_is_flagged_and_credits_nothing() {
    let shop = Shop::open().await;
    let user = "payer-short";
    let rzp = shop.order(user, "razorpay").await;
    let stripe = shop.order(user, "stripe").await;
    let pay = unique_id("pay");

    let short = razorpay_paid(
        "payment.captured",
        rzp["provider_order_id"].as_str().unwrap(),
        &pay,
        39_899,
    );
    let response = shop
        .razorpay_webhook(&short, Some("evt_short"), Some(&razorpay_signature(&short)))
        .await;
    assert_eq!(response.status(), 200);
    let intent = stripe["provider_order_id"].as_str().unwrap();
    let euros = stripe_succeeded("evt_eur", intent, 499, "eur");
    assert_eq!(shop.signed_stripe(&euros).await.status(), 200);

    let rzp_order = rzp["order_id"].as_str().unwrap();
    let stripe_order = stripe["order_id"].as_str().unwrap();
    shop.wait_for_order_status(rzp_order, "flagged").await;
    shop.wait_for_order_status(stripe_order, "flagged").await;
    let outcome = shop.top_up_result(Provider::Razorpay, &pay).await;
    assert_eq!(outcome["status"], "flagged");
    assert_eq!(outcome["coins_credited"], 0);
    shop.top_up_result(Provider::Stripe, intent).await;

    assert_eq!(shop.purchases(user).await, 0);
    assert_eq!(shop.balance(user).await, BONUS);
    // The operator's view lists both, with the reason.
    let flagged = list_orders(&shop.app.pool, Some("flagged"), 10)
        .await
        .unwrap();
    assert_eq!(flagged.len(), 2);
    let reasons: Vec<String> = flagged
        .iter()
        .filter_map(|o| o.flag_reason.clone())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("39899")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("eur")), "{reasons:?}");
    assert!(
        list_orders(&shop.app.pool, Some("bogus"), 10)
            .await
            .is_err()
    );

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_claws_the_coins_back() {
    let shop = Shop::open().await;
    let user = "payer-refund";
    let order = shop.order(user, "razorpay").await;
    let order_id = order["order_id"].as_str().unwrap();
    let rzp_order = order["provider_order_id"].as_str().unwrap();
    let (pay, rfnd) = (unique_id("pay"), unique_id("rfnd"));
    let paid = razorpay_paid("payment.captured", rzp_order, &pay, 39_900);
    shop.razorpay_webhook(&paid, Some("evt_r_paid"), Some(&razorpay_signature(&paid)))
        .await;
    shop.wait_for_balance(user, BONUS + 400).await;

    let refund = razorpay_event(
        "refund.processed",
        json!({"refund": {"entity": {"id": rfnd, "entity": "refund", "amount": 39_900,
                                     "currency": "INR", "payment_id": pay, "status": "processed",
                                     "speed_processed": "normal", "notes": {}}},
               "payment": {"entity": {"id": pay, "order_id": rzp_order, "amount": 39_900,
                                      "amount_refunded": 39_900, "refund_status": "full", "captured": true}}}),
    );
    let sig = razorpay_signature(&refund);
    let response = shop
        .razorpay_webhook(&refund, Some("evt_refund_1"), Some(&sig))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["outcome"], "refund_started");
    shop.wait_for_balance(user, BONUS).await;
    shop.wait_for_order_status(order_id, "refunded").await;

    let (clawed, shortfall): (i32, i32) = sqlx::query_as(
        "SELECT coins_refunded, shortfall_coins FROM payment_refunds WHERE provider_refund_id = $1",
    )
    .bind(&rfnd)
    .fetch_one(&shop.app.pool)
    .await
    .unwrap();
    assert_eq!((clawed, shortfall), (400, 0));
    let rows = shop.count("SELECT COUNT(*) FROM credit_transactions WHERE user_id = $1 AND type = 'payment_refund'", user).await;
    assert_eq!(rows, 1);
    // Replayed: nothing more.
    let replay = shop
        .razorpay_webhook(&refund, Some("evt_refund_1"), Some(&sig))
        .await;
    assert_eq!(json(replay).await["outcome"], "duplicate");
    assert_eq!(shop.balance(user).await, BONUS);
    let flagged: bool = sqlx::query_scalar("SELECT is_flagged FROM users WHERE user_id = $1")
        .bind(user)
        .fetch_one(&shop.app.pool)
        .await
        .unwrap();
    assert!(!flagged, "everything was clawed back: nothing to flag");

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_after_spending_records_the_shortfall_and_flags_the_user() {
    let shop = Shop::open().await;
    let user = "payer-spent";
    let order = shop.order(user, "stripe").await;
    let order_id = order["order_id"].as_str().unwrap();
    let intent = order["provider_order_id"].as_str().unwrap();
    assert_eq!(
        shop.signed_stripe(&stripe_succeeded("evt_s_paid", intent, 499, "usd"))
            .await
            .status(),
        200
    );
    shop.wait_for_balance(user, BONUS + 400).await;

    // Spend 300 of the 450 coins.
    relivchats_api::ledger::admin_adjust(
        &shop.app.pool,
        &UserId::parse(user).unwrap(),
        -300,
        "spent in a test",
    )
    .await
    .unwrap();
    assert_eq!(shop.balance(user).await, 150);

    // A partial refund (200 of 499 cents: 160 coins due) takes what is left, 150.
    let partial = stripe_refunded("evt_s_ref_1", intent, 200);
    assert_eq!(shop.signed_stripe(&partial).await.status(), 200);
    shop.wait_for_balance(user, 0).await;
    // Then the rest (the charge's refunded total reaches 499: 240 more coins due).
    let full = stripe_refunded("evt_s_ref_2", intent, 499);
    assert_eq!(shop.signed_stripe(&full).await.status(), 200);
    shop.wait_for_order_status(order_id, "refunded").await;

    let refunds: Vec<(String, i32, i32, i32)> = sqlx::query_as(
        r#"SELECT provider_refund_id, amount, coins_refunded, shortfall_coins FROM payment_refunds
           WHERE payment_order_id = $1::UUID ORDER BY amount"#,
    )
    .bind(order_id)
    .fetch_all(&shop.app.pool)
    .await
    .unwrap();
    let charge = format!("ch_{intent}");
    assert_eq!(
        refunds,
        vec![
            (format!("{charge}:200"), 200, 150, 10),
            (format!("{charge}:499"), 299, 0, 240),
        ]
    );
    let (flagged, reason): (bool, Option<String>) =
        sqlx::query_as("SELECT is_flagged, flag_reason FROM users WHERE user_id = $1")
            .bind(user)
            .fetch_one(&shop.app.pool)
            .await
            .unwrap();
    assert!(flagged);
    assert!(reason.unwrap().contains("already been spent"));
    assert_eq!(shop.balance(user).await, 0);

    // An older cumulative total delivered late refunds nothing new.
    let late = stripe_refunded("evt_s_ref_late", intent, 100);
    assert_eq!(shop.signed_stripe(&late).await.status(), 200);
    wait_until(
        "the late refund to finish",
        Duration::from_secs(60),
        || async {
            shop.app
            .temporal
            .get_workflow_handle::<relivchats_domain::contracts::payments::RefundPaymentDefinition>(
                format!("refund:stripe:{charge}:100"),
            )
            .get_result(WorkflowGetResultOptions::default())
            .await
            .is_ok_and(|out| out.status == "nothing_new")
        },
    )
    .await;
    assert_eq!(
        shop.count(
            "SELECT COUNT(*) FROM payment_refunds WHERE user_id = $1",
            user
        )
        .await,
        2
    );

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_orders_and_other_events_are_acknowledged() {
    let shop = Shop::open().await;
    let body = razorpay_paid("payment.captured", "order_NotOurs", "pay_NotOurs", 39_900);
    let response = shop
        .razorpay_webhook(&body, Some("evt_unknown"), Some(&razorpay_signature(&body)))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["outcome"], "unknown_order");
    let other = stripe_event("evt_other", "customer.created", json!({"id": "cus_1"}));
    let response = shop.signed_stripe(&other).await;
    assert_eq!(json(response).await["outcome"], "ignored");
    // Both stored, both marked processed.
    let processed = shop
        .count(
            "SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL AND provider <> $1",
            "none",
        )
        .await;
    assert_eq!(processed, 2);

    // A failed attempt marks a pending order failed; a later successful one still credits.
    let order = shop.order("payer-retry", "razorpay").await;
    let rzp_order = order["provider_order_id"].as_str().unwrap();
    let pay = unique_id("pay");
    let failed = razorpay_event(
        "payment.failed",
        json!({"payment": {"entity": {"id": "pay_Fail1", "order_id": rzp_order, "amount": 39_900,
                                      "currency": "INR", "status": "failed", "error_description": "declined"}}}),
    );
    shop.razorpay_webhook(
        &failed,
        Some("evt_fail"),
        Some(&razorpay_signature(&failed)),
    )
    .await;
    assert_eq!(
        shop.order_status(order["order_id"].as_str().unwrap()).await,
        "failed"
    );
    let paid = razorpay_paid("payment.captured", rzp_order, &pay, 39_900);
    shop.razorpay_webhook(&paid, Some("evt_second"), Some(&razorpay_signature(&paid)))
        .await;
    shop.wait_for_balance("payer-retry", BONUS + 400).await;

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn razorpay_checkout_verification_starts_the_same_top_up() {
    let shop = Shop::open().await;
    let user = "payer-checkout";
    let order = shop.order(user, "razorpay").await;
    let rzp_order = order["provider_order_id"].as_str().unwrap();
    let pay = unique_id("pay");
    shop.fake.razorpay_payments.lock().unwrap().insert(
        pay.clone(),
        razorpay_payment(&pay, rzp_order, 39_900, "INR"),
    );
    let sign = |payment: &str| {
        relivchats_domain::payments::signature::hmac_sha256_hex(
            RAZORPAY_KEY_SECRET.as_bytes(),
            &[rzp_order.as_bytes(), b"|", payment.as_bytes()],
        )
    };
    let verify = |payment: &str, signature: String| {
        shop.app
            .http
            .post(shop.app.url("/api/payments/razorpay/verify"))
            .bearer_auth(shop.app.token(user))
            .json(
                &json!({"razorpay_order_id": rzp_order, "razorpay_payment_id": payment,
                          "razorpay_signature": signature}),
            )
            .send()
    };
    let forged = verify(&pay, sign("pay_Other")).await.unwrap();
    assert_eq!(forged.status(), 400);
    let ok = verify(&pay, sign(&pay)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(json(ok).await["outcome"], "topup_started");
    shop.wait_for_balance(user, BONUS + 400).await;
    // The coins land before the workflow closes: wait for it, so the webhook below meets a
    // finished top-up rather than a running one (which it would also attach to).
    assert_eq!(
        shop.top_up_result(Provider::Razorpay, &pay).await["coins_credited"],
        400
    );
    // The webhook arriving afterwards attaches to the same, finished, top-up.
    let paid = razorpay_paid("payment.captured", rzp_order, &pay, 39_900);
    let late = shop
        .razorpay_webhook(&paid, Some("evt_late"), Some(&razorpay_signature(&paid)))
        .await;
    assert_eq!(json(late).await["outcome"], "topup_already_done");
    assert_eq!(shop.purchases(user).await, 1);

    shop.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfigured_provider_answers_503() {
    let fake = FakePayments::start().await;
    let mut env = fake.env();
    env.retain(|k, _| k.starts_with("RAZORPAY_"));
    let app = TestApp::spawn_with(env).await;
    let token = app.token("payer-503");
    let response = app
        .http
        .post(app.url("/api/payments/orders"))
        .bearer_auth(&token)
        .json(&json!({"package_id": STARTER, "provider": "stripe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body = json(response).await;
    assert_error_shape(&body);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("STRIPE_SECRET_KEY"),
        "{body}"
    );
    let webhook = app
        .http
        .post(app.url("/api/payments/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 503);
    app.stop().await;
}

/// A running process: `relivchats serve`, or an API alone (the webhook receiver).
struct Process {
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    address: String,
}

impl Process {
    /// `relivchats serve`: API and worker.
    async fn serve(config: &Config) -> Self {
        let app = Application::build(config, Role::Serve)
            .await
            .expect("the application builds");
        let address = format!(
            "http://{}",
            app.local_addr().expect("the serve role listens")
        );
        let (stop, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            stop,
            server,
            address,
        }
    }

    /// The HTTP API with the payment providers and no worker. (`Role::Api` refuses the
    /// embedded vector store, which this test does not need.)
    async fn api_only(config: &Config) -> Self {
        let (pool, client) = relivchats::startup::prepare(config).await.unwrap();
        let cipher = Cipher::new(config.encryption_key.expose()).expect("a valid key");
        let state = AppState::new(
            pool,
            Authenticator::new(&config.auth).unwrap(),
            cipher,
            client,
            &config.temporal.task_queue,
            config.api_settings(),
            Vec::new(),
        )
        .unwrap()
        .with_payments(config.payments.providers().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (stop, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, relivchats_api::router(state))
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await?;
            Ok(())
        });
        Self {
            stop,
            server,
            address,
        }
    }

    async fn kill(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_webhook_and_credit_credits_exactly_once_after_restart() {
    let fake = FakePayments::start().await;
    let database = TestDatabase::create().await;
    let mut vars: HashMap<String, String> = fake.env();
    let data_dir = std::env::temp_dir().join(format!("relivchats-test-{}", Uuid::new_v4()));
    for (k, v) in [
        ("ENVIRONMENT", "development".to_owned()),
        ("DATABASE_URL", database.url.clone()),
        ("DATABASE_MAX_CONNECTIONS", "5".to_owned()),
        ("TEMPORAL_ADDRESS", temporal_server::shared_address().await),
        (
            "TEMPORAL_TASK_QUEUE",
            format!("test-{}", Uuid::new_v4().simple()),
        ),
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("DATA_DIR", data_dir.to_string_lossy().into_owned()),
        ("DEV_AUTH_SECRET", "crash-test-secret".to_owned()),
        ("AUTH_MODE", "dev".to_owned()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    let config = Config::from_map(&vars).unwrap();

    // The API receives the webhook and starts the workflow, then dies before any worker ran it.
    let api = Process::api_only(&config).await;
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let user = UserId::parse("payer-crash").unwrap();
    let (rzp_order, pay) = (unique_id("order"), unique_id("pay"));
    relivchats_api::ledger::ensure_user(&pool, &user, None)
        .await
        .unwrap();
    sqlx::query(
        r#"INSERT INTO payment_orders (id, user_id, package_id, provider, provider_order_id, amount, currency, coins)
           VALUES ($1, $2, $3::UUID, 'razorpay', $4, 39900, 'INR', 400)"#,
    )
    .bind(Uuid::new_v4())
    .bind(user.as_str())
    .bind(STARTER)
    .bind(&rzp_order)
    .execute(&pool)
    .await
    .unwrap();
    let body = razorpay_paid("payment.captured", &rzp_order, &pay, 39_900);
    let http = reqwest::Client::new();
    let send = |address: String| {
        http.post(format!("{address}/api/payments/webhooks/razorpay"))
            .header("X-Razorpay-Event-Id", "evt_crash")
            .header("X-Razorpay-Signature", razorpay_signature(&body))
            .body(body.clone())
            .send()
    };
    let response = send(api.address.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let balance = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i32>(
            "SELECT credit_balance FROM users WHERE user_id = 'payer-crash'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        balance(pool.clone()).await,
        50,
        "no worker has run the top-up yet"
    );
    api.kill().await;

    // After the restart the worker picks the workflow up from Temporal and credits once; the
    // provider's redelivery changes nothing.
    let serve = Process::serve(&config).await;
    wait_until(
        "the credit after the restart",
        Duration::from_secs(60),
        || async { balance(pool.clone()).await == 450 },
    )
    .await;
    let again = send(serve.address.clone()).await.unwrap();
    assert_eq!(again.status(), 200);
    let purchases: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM credit_transactions WHERE type = 'purchase'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(purchases, 1);
    let (sum,): (i64,) = sqlx::query_as(
        "SELECT SUM(amount)::BIGINT FROM credit_transactions WHERE user_id = 'payer-crash'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sum, 450);

    serve.kill().await;
    pool.close().await;
    database.drop_now().await;
}

/// Whoever can reach Temporal could start `TopUp` with made-up payment details for a pending
/// order. The workflow now reads the payment from the verified webhook event the API stored,
/// so a top-up no webhook backs credits nothing, and one whose input inflates a real
/// payment is judged by the real payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_no_verified_webhook_backs_credits_nothing() {
    use relivchats_domain::contracts::payments::TopUpInput;
    use temporalio_client::WorkflowStartOptions;
    let shop = Shop::open().await;
    let user = "payer-forger";
    let order = shop.order(user, "razorpay").await;
    let order_id: Uuid = order["order_id"].as_str().unwrap().parse().unwrap();
    let start = |payment: &str, event: &str, amount: i64| {
        let input = TopUpInput {
            order_id,
            user_id: user.to_owned(),
            provider: Provider::Razorpay,
            provider_payment_id: payment.to_owned(),
            amount,
            currency: "INR".to_owned(),
            event_id: event.to_owned(),
        };
        let options = WorkflowStartOptions::new(
            shop.app.config.temporal.task_queue.clone(),
            top_up_workflow_id(Provider::Razorpay, payment),
        )
        .build();
        let temporal = shop.app.temporal.clone();
        async move {
            temporal
                .start_workflow(TopUpDefinition, input, options)
                .await
                .unwrap();
        }
    };
    let (invented, short_pay, forged) = (unique_id("pay"), unique_id("pay"), unique_id("pay"));
    start(&invented, "evt_invented", 39_900).await;
    let outcome = shop.top_up_result(Provider::Razorpay, &invented).await;
    assert_eq!(outcome["status"], "skipped", "{outcome}");
    assert_eq!(outcome["coins_credited"], 0);
    assert_eq!(shop.order_status(&order_id.to_string()).await, "pending");

    // A real but short payment, with a forged top-up claiming the full amount for it: the
    // stored event says 100 paise, so the order is flagged and nothing is credited.
    let rzp_order = order["provider_order_id"].as_str().unwrap();
    let short = razorpay_paid("payment.captured", rzp_order, &short_pay, 100);
    let response = shop
        .razorpay_webhook(&short, Some("evt_short"), Some(&razorpay_signature(&short)))
        .await;
    assert_eq!(response.status(), 200);
    let outcome = shop.top_up_result(Provider::Razorpay, &short_pay).await;
    assert_eq!(outcome["status"], "flagged", "{outcome}");
    start(&forged, "evt_short", 39_900).await;
    let outcome = shop.top_up_result(Provider::Razorpay, &forged).await;
    assert_eq!(outcome["coins_credited"], 0, "{outcome}");
    assert_eq!(shop.balance(user).await, BONUS);
    assert_eq!(shop.purchases(user).await, 0);
    shop.app.stop().await;
}

/// A correctly signed body we cannot read is acknowledged (a 400 makes the provider redeliver
/// it for days) and kept once for an operator; nothing is credited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_but_unreadable_webhooks_are_acknowledged_and_kept() {
    let shop = Shop::open().await;
    // A payment event without the payment entity's id.
    let body = razorpay_event(
        "payment.captured",
        json!({"payment": {"entity": {"amount": 39_900, "currency": "INR"}}}),
    );
    let sig = razorpay_signature(&body);
    for _ in 0..2 {
        let response = shop
            .razorpay_webhook(&body, Some("evt_odd"), Some(&sig))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(json(response).await["outcome"], "unparsable");
    }
    let kept = shop
        .count(
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = $1",
            "unparsable",
        )
        .await;
    assert_eq!(kept, 1, "kept once, however often it is delivered");
    // An unsigned one is still a 400, and is not kept.
    let response = shop.razorpay_webhook(&body, Some("evt_odd"), None).await;
    assert_eq!(response.status(), 400);

    // PostgreSQL stores no U+0000: a signed event carrying one, readable or not, is kept with
    // U+FFFD in its place and acknowledged, never a 500 (found by schemathesis).
    let readable = razorpay_paid("payment.captured", "order_\u{0}nul", "pay_nul", 39_900);
    for (body, event) in [
        (readable, "evt_nul"),
        (
            br#"{"odd": "a\u0000b", "k\u0000": 1}"#.to_vec(),
            "evt_nul_2",
        ),
    ] {
        let sig = razorpay_signature(&body);
        let response = shop.razorpay_webhook(&body, Some(event), Some(&sig)).await;
        assert_eq!(response.status(), 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(json(response).await["outcome"], "unparsable");
    }
    let kept = shop
        .count(
            "SELECT COUNT(*) FROM webhook_events WHERE event_type = $1",
            "unparsable",
        )
        .await;
    assert_eq!(kept, 3);
    shop.app.stop().await;
}

/// A chargeback takes the money back: the coins go with it, once per dispute. Coins already
/// spent leave a shortfall that flags the account, and a flagged account cannot spend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargeback_claws_the_coins_back_and_flags_a_shortfall() {
    let shop = Shop::open().await;
    let user = "payer-disputed";
    let order = shop.order(user, "stripe").await;
    let intent = order["provider_order_id"].as_str().unwrap().to_owned();
    shop.signed_stripe(&stripe_succeeded("evt_paid_d", &intent, 499, "usd"))
        .await;
    shop.wait_for_balance(user, BONUS + 400).await;
    // 300 of the 450 are spent before the dispute arrives.
    relivchats_api::ledger::admin_adjust(
        &shop.app.pool,
        &UserId::parse(user).unwrap(),
        -300,
        "spent in the test",
    )
    .await
    .unwrap();
    let dispute_id = unique_id("dp");
    let dispute = stripe_event(
        "evt_dispute_1",
        "charge.dispute.created",
        json!({"id": dispute_id, "object": "dispute", "amount": 499, "currency": "usd",
               "charge": "ch_1", "payment_intent": intent, "reason": "fraudulent",
               "status": "needs_response"}),
    );
    let response = shop.signed_stripe(&dispute).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["outcome"], "refund_started");
    shop.wait_for_balance(user, 0).await;
    let (clawed, shortfall): (i32, i32) = sqlx::query_as(
        "SELECT coins_refunded, shortfall_coins FROM payment_refunds WHERE provider_refund_id = $1",
    )
    .bind(format!("dispute:{dispute_id}"))
    .fetch_one(&shop.app.pool)
    .await
    .unwrap();
    assert_eq!((clawed, shortfall), (150, 250));
    let replay = shop.signed_stripe(&dispute).await;
    assert_eq!(json(replay).await["outcome"], "duplicate");
    assert_eq!(shop.balance(user).await, 0);
    let flagged: bool = sqlx::query_scalar("SELECT is_flagged FROM users WHERE user_id = $1")
        .bind(user)
        .fetch_one(&shop.app.pool)
        .await
        .unwrap();
    assert!(flagged);

    // The flag is enforced: an unlock is refused before anything is held.
    relivchats_api::ledger::admin_adjust(
        &shop.app.pool,
        &UserId::parse(user).unwrap(),
        400,
        "goodwill",
    )
    .await
    .unwrap();
    let token = shop.app.token(user);
    let chat = shop
        .app
        .upload_chat(
            &token,
            "01/03/2024, 09:00 - Asha: Hi\n01/03/2024, 09:01 - Ben: Hey\n",
        )
        .await;
    let categories = json(shop.app.get("/api/categories", None).await).await;
    let family = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "family")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .unwrap();
    let response = shop
        .app
        .http
        .post(shop.app.url("/api/insights/unlock"))
        .bearer_auth(&token)
        .json(&json!({"chat_id": chat, "category_id": family}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body = json(response).await;
    assert_error_shape(&body);
    assert!(
        body["detail"].as_str().unwrap().contains("on hold"),
        "{body}"
    );
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM coin_reservations WHERE user_id = $1")
        .bind(user)
        .fetch_one(&shop.app.pool)
        .await
        .unwrap();
    assert_eq!(held, 0);
    assert_eq!(shop.balance(user).await, 400);
    shop.app.stop().await;
}
