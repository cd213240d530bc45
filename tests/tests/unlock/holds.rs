//! Holds and the ledger activities: idempotent operations, and expired holds released
//! exactly once.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_operations_are_idempotent() {
    let app = TestApp::spawn().await;
    let token = app.token("ledger-saga");
    let chat = upload(&app, &token, two_person_chat()).await;
    let romantic = app.category_id("romantic").await;
    app.grant("ledger-saga", 400).await; // 450 in all
    let reserve = |id: Uuid, amount: i32| ReserveInput {
        reservation_id: id,
        user_id: "ledger-saga".into(),
        chat_id: chat,
        category_id: romantic,
        workflow_id: "test".into(),
        amount,
        hold_secs: 60,
    };
    let first = Uuid::new_v4();
    let out = ledger::reserve(&app.pool, &reserve(first, 400))
        .await
        .unwrap();
    assert_eq!(out.available_after, 50);
    // The same reservation again holds nothing more; another one cannot exceed what is left.
    ledger::reserve(&app.pool, &reserve(first, 400))
        .await
        .unwrap();
    assert_eq!(held(&app, "ledger-saga").await, 400);
    let err = ledger::reserve(&app.pool, &reserve(Uuid::new_v4(), 100))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only 50 are available"), "{err}");
    // Support cannot take held coins away either.
    let err = relivchats_api::ledger::admin_adjust(
        &app.pool,
        &UserId::parse("ledger-saga").unwrap(),
        -100,
        "x",
    )
    .await;
    assert!(err.is_err());

    // Ten concurrent captures of the same reservation: one ledger row.
    let capture = CaptureInput {
        reservation_id: first,
        amount: 266,
        description: "partial".into(),
        job_id: "j".into(),
    };
    let results = join_all((0..10).map(|_| ledger::capture(&app.pool, &capture))).await;
    assert!(results.iter().all(|r| r.as_ref().unwrap().captured == 266));
    assert_eq!(
        ledger_rows(&app, "ledger-saga", "insight_unlock").await,
        vec![-266]
    );
    assert_eq!(
        held(&app, "ledger-saga").await,
        0,
        "the rest was released with the capture"
    );
    // A release after the capture changes nothing; refunds happen once.
    let release = ReleaseInput {
        reservation_id: first,
        reason: "late".into(),
        expired: true,
    };
    assert_eq!(
        ledger::release(&app.pool, &release).await.unwrap().status,
        "captured"
    );
    let refund = RefundInput {
        reservation_id: first,
        reason: "complaint #1".into(),
        operator: "ops".into(),
    };
    let results = join_all((0..5).map(|_| ledger::refund(&app.pool, &refund))).await;
    assert!(results.iter().all(|r| r.as_ref().unwrap().refunded == 266));
    assert_eq!(ledger_rows(&app, "ledger-saga", "refund").await, vec![266]);
    assert_eq!(app.balance_and_ledger("ledger-saga").await, (450, 450));

    // The database itself refuses a second terminal state.
    let err = sqlx::query("UPDATE coin_reservations SET status = 'released' WHERE id = $1")
        .bind(first)
        .execute(&app.pool)
        .await;
    assert!(err.unwrap_err().to_string().contains("already ended"));
    assert_money_exact(&app, "ledger-saga").await;
    app.stop().await;
}

/// A hold whose workflow was terminated is released by the sweeper once it expires, exactly
/// once, and the job and its insights say the unlock did not finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_holds_come_back_exactly_once() {
    use relivchats_domain::contracts::unlock::UnlockInsightsDefinition;
    use temporalio_client::WorkflowTerminateOptions;
    let llm = FakeLlm::start().await;
    llm.delay(Duration::from_secs(8));
    let mut overrides = llm.app_vars();
    overrides.push(("RESERVATION_SWEEP_SECS".into(), "1".into()));
    let app = TestApp::spawn_with(vars(overrides)).await;
    let user = "stranded";
    let token = app.token(user);
    app.grant(user, 350).await;
    let chat = upload(&app, &token, two_person_chat()).await;
    let response = unlock(&app, &token, chat, app.category_id("family").await).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    let workflow_id = body["workflow_id"].as_str().unwrap().to_owned();
    let job = body["job_id"].as_str().unwrap().to_owned();
    assert_eq!(held(&app, user).await, 400);
    app.temporal
        .get_workflow_handle::<UnlockInsightsDefinition>(workflow_id)
        .terminate(
            WorkflowTerminateOptions::builder()
                .reason("stuck".to_owned())
                .build(),
        )
        .await
        .unwrap();
    // Still held: the hold has not expired yet. Then it expires.
    assert_eq!(held(&app, user).await, 400);
    sqlx::query(
        "UPDATE coin_reservations SET expires_at = now() - interval '1 second' WHERE user_id = $1",
    )
    .bind(user)
    .execute(&app.pool)
    .await
    .unwrap();
    wait_until(
        "the sweeper releases the hold",
        Duration::from_secs(15),
        async || held(&app, user).await == 0,
    )
    .await;
    assert_eq!(held(&app, user).await, 0, "the sweeper released the hold");
    let (status, reason): (String, String) =
        sqlx::query_as("SELECT status, reason FROM coin_reservations WHERE user_id = $1")
            .bind(user)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "expired");
    assert!(reason.contains("expired"), "{reason}");
    let done = app.wait_for_job(&token, &job).await;
    assert_eq!(done["status"], "failed", "{done}");
    // Sweeping again (or on many workers at once) changes nothing.
    let again = join_all((0..4).map(|_| ledger::release_expired(&app.pool))).await;
    assert_eq!(again.into_iter().map(Result::unwrap).sum::<u64>(), 0);
    assert_eq!(app.balance_and_ledger(user).await, (400, 400));
    assert_money_exact(&app, user).await;
    app.stop().await;
}
