//! Orders: created with the providers and scoped to their owner, Razorpay checkout
//! verification, and a provider that is not configured.

use super::*;

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
