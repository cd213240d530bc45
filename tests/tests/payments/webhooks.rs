//! Webhooks: a payment credits once however it is delivered, and bad, short or unreadable
//! events credit nothing.

use super::*;

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
