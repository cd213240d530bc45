//! Refunds and chargebacks claw the coins back, and record a shortfall when they were spent.

use super::*;

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
