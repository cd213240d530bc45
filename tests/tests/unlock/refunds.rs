//! Refunds and deadlines: holds released before capture, late answers dropped.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_refund_before_capture_and_the_deadline_release_the_hold() {
    let llm = FakeLlm::start().await;
    llm.delay(Duration::from_secs(20));
    let mut overrides = llm.app_vars();
    overrides.push(("UNLOCK_DEADLINE_SECS".into(), "4".into()));
    overrides.push(("INSIGHT_TIMEOUT_SECS".into(), "60".into()));
    let app = TestApp::spawn_with(vars(overrides)).await;
    let token = app.token("waiting");
    app.grant("waiting", 800).await;

    // The deadline passes while the model is slow: everything is released.
    let chat = upload(&app, &token, two_person_chat()).await;
    let workplace = app.category_id("workplace").await;
    let job = start_job(&app, &token, chat, workplace).await;
    let done = app.wait_for_job(&token, &job).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["coins_charged"], 0);
    let expired: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM coin_reservations WHERE user_id = 'waiting' AND status = 'expired'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(expired, 1);

    // An operator refund while generating: released at once, with the reason recorded.
    let chat2 = upload(&app, &token, two_person_chat()).await;
    let family = app.category_id("family").await;
    let job2 = start_job(&app, &token, chat2, family).await;
    wait_until(
        "the second unlock holds its coins",
        Duration::from_secs(5),
        async || held(&app, "waiting").await == 400,
    )
    .await;
    relivchats::admin::refund_unlock(
        &app.pool,
        &app.temporal,
        chat2,
        "family",
        "customer changed their mind",
        "ops",
    )
    .await
    .unwrap();
    let done = app.wait_for_job(&token, &job2).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error_message"]
            .as_str()
            .unwrap()
            .contains("customer changed their mind"),
        "{done}"
    );
    let reason: String = sqlx::query_scalar(
        "SELECT reason FROM coin_reservations WHERE user_id = 'waiting' AND status = 'released'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(reason.contains("customer changed their mind"));
    assert_eq!(held(&app, "waiting").await, 0);
    assert!(
        ledger_rows(&app, "waiting", "insight_unlock")
            .await
            .is_empty()
    );
    assert_eq!(app.balance_and_ledger("waiting").await, (850, 850));
    app.stop().await;
}

/// An operator refund while the model is still working cancels the work (the activity
/// heartbeats, so the cancellation reaches it) and nothing is stored for the 0-coin job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_insights_are_not_stored_after_a_refund() {
    let llm = FakeLlm::start().await;
    llm.delay(Duration::from_secs(6));
    let mut overrides = llm.app_vars();
    overrides.push(("INSIGHT_TIMEOUT_SECS".into(), "60".into()));
    let app = TestApp::spawn_with(vars(overrides)).await;
    let user = "late";
    let token = app.token(user);
    app.grant(user, 350).await;
    let chat = upload(&app, &token, two_person_chat()).await;
    let job = start_job(&app, &token, chat, app.category_id("family").await).await;
    wait_until(
        "the six insights are with the model",
        Duration::from_secs(10),
        async || llm.calls() >= 6,
    )
    .await;
    assert_eq!(llm.calls(), 6, "the six insights are with the model");
    relivchats::admin::refund_unlock(&app.pool, &app.temporal, chat, "family", "late", "ops")
        .await
        .unwrap();
    let done = app.wait_for_job(&token, &job).await;
    assert_eq!(done["coins_charged"], 0, "{done}");
    // The model answers six seconds after it was asked; give the answers time to arrive.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let completed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM insights WHERE chat_id = $1 AND status = 'completed'",
    )
    .bind(chat)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(completed, 0, "no insight for a refunded job");
    assert_eq!(app.balance_and_ledger(user).await, (400, 400));
    assert_eq!(held(&app, user).await, 0);
    assert_no_unpaid_insights(&app, user).await;
    app.stop().await;
}
