//! Failed insights: partial and majority failures, and what a retry costs.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_failure_charges_the_delivered_share_and_retries_are_free() {
    let llm = FakeLlm::start().await;
    llm.fail(&["future_planning", "love_language"]);
    let mut overrides = llm.app_vars();
    overrides.push(("INSIGHT_MAX_ATTEMPTS".into(), "2".into()));
    // Short refund window, so the workflow closes and its history can be replayed.
    overrides.push(("UNLOCK_REFUND_WINDOW_SECS".into(), "2".into()));
    let app = TestApp::spawn_with(vars(overrides)).await;
    let token = app.token("partial");
    let chat = upload(&app, &token, two_person_chat()).await;
    let romantic = app.category_id("romantic").await;
    app.grant("partial", 400).await;

    let job = start_job(&app, &token, chat, romantic).await;
    let done = app.wait_for_job(&token, &job).await;
    assert_eq!(done["status"], "partial_failure", "{done}");
    assert_eq!(
        (
            done["completed_insights"].as_i64(),
            done["failed_insights"].as_i64()
        ),
        (Some(4), Some(2))
    );
    // 400 × 4/6 = 266.67 → 266: rounded down, in the user's favour.
    assert_eq!(done["coins_charged"], 266);
    assert_eq!(
        ledger_rows(&app, "partial", "insight_unlock").await,
        vec![-266]
    );
    assert_eq!(held(&app, "partial").await, 0);
    assert_eq!(app.balance_and_ledger("partial").await, (184, 184));

    // The two failed insights, retried for free once the model behaves.
    llm.fail(&[]);
    let insights = json(
        app.get(&format!("/api/insights/chats/{chat}"), Some(&token))
            .await,
    )
    .await;
    let failed: Vec<String> = insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "failed")
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(failed.len(), 2);
    for id in &failed {
        let r = app
            .http
            .post(app.url(&format!("/api/insights/{id}/retry")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(json(r).await["coins_charged"], 0);
    }
    let mut status = Value::Null;
    wait_until(
        "the chat's insights are generated",
        Duration::from_secs(30),
        async || {
            status = json(
                app.get(&format!("/api/insights/chats/{chat}"), Some(&token))
                    .await,
            )
            .await;
            status["generation_status"] == "completed"
        },
    )
    .await;
    assert!(
        status["insights"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "completed")
    );
    assert_eq!(
        app.balance_and_ledger("partial").await,
        (184, 184),
        "retries are free"
    );
    // Retrying a completed insight is refused.
    let r = app
        .http
        .post(app.url(&format!("/api/insights/{}/retry", failed[0])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_money_exact(&app, "partial").await;
    assert_replays(
        &app,
        &format!("unlock:{chat}:{romantic}"),
        "partial-failure",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn majority_failure_charges_nothing() {
    let llm = FakeLlm::start().await;
    llm.fail(&[
        "conflict_resolution",
        "future_planning",
        "playfulness_romance",
        "love_language",
    ]);
    let mut overrides = llm.app_vars();
    overrides.push(("INSIGHT_MAX_ATTEMPTS".into(), "1".into()));
    let app = TestApp::spawn_with(vars(overrides)).await;
    let token = app.token("unlucky");
    let chat = upload(&app, &token, two_person_chat()).await;
    let romantic = app.category_id("romantic").await;
    app.grant("unlucky", 400).await;
    let job = start_job(&app, &token, chat, romantic).await;
    let done = app.wait_for_job(&token, &job).await;
    assert_eq!(done["status"], "partial_failure", "{done}");
    assert_eq!(done["coins_charged"], 0);
    assert!(
        ledger_rows(&app, "unlucky", "insight_unlock")
            .await
            .is_empty()
    );
    assert_eq!(held(&app, "unlucky").await, 0);
    assert_eq!(app.balance_and_ledger("unlucky").await, (450, 450));
    // The deadline timer was cancelled once the work was over, not left to fire later.
    let history = closed_history(&app, &format!("unlock:{chat}:{romantic}")).await;
    /// `EVENT_TYPE_TIMER_CANCELED` in Temporal's `EventType` enum.
    const TIMER_CANCELED: i64 = 19;
    let cancelled = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == TIMER_CANCELED)
        .count();
    assert_eq!(cancelled, 1, "the deadline timer was not cancelled");
    assert_replays(
        &app,
        &format!("unlock:{chat}:{romantic}"),
        "majority-failure",
    )
    .await;
    app.stop().await;
}

/// A free retry is owed only for an unlock that was paid for and not refunded, and only a few
/// times: an unlock that charged nothing (more than half failed) or was refunded by an operator
/// gives no free retries, and may be unlocked again (paid) instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_free_only_for_paid_unlocks_and_bounded() {
    let llm = FakeLlm::start().await;
    llm.fail(&[
        "conflict_resolution",
        "future_planning",
        "playfulness_romance",
        "love_language",
    ]);
    let mut overrides = llm.app_vars();
    overrides.push(("INSIGHT_MAX_ATTEMPTS".into(), "1".into()));
    overrides.push(("UNLOCK_REFUND_WINDOW_SECS".into(), "60".into()));
    let app = TestApp::spawn_with(vars(overrides)).await;
    let user = "retrier";
    let token = app.token(user);
    app.grant(user, 750).await; // 800
    let romantic = app.category_id("romantic").await;

    // More than half failed: nothing charged, so nothing to retry for free.
    let chat = upload(&app, &token, two_person_chat()).await;
    let job = start_job(&app, &token, chat, romantic).await;
    let done = app.wait_for_job(&token, &job).await;
    assert_eq!(done["coins_charged"], 0, "{done}");
    llm.fail(&[]);
    let failed = failed_insights(&app, &token, chat).await;
    assert_eq!(failed.len(), 4);
    for id in &failed {
        let r = retry(&app, &token, id).await;
        assert_eq!(r.status(), 409);
        let body = json(r).await;
        assert!(
            body["detail"].as_str().unwrap().contains("not charged"),
            "{body}"
        );
    }
    // It may be unlocked again, and that unlock is paid.
    let again = start_job(&app, &token, chat, romantic).await;
    let done = app.wait_for_job(&token, &again).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(ledger_rows(&app, user, "insight_unlock").await, vec![-400]);

    // A partial failure is paid for what it delivered, and its failed insight is retried for
    // free, at most three times; after an operator refund, not at all.
    llm.fail(&["love_language"]);
    let chat2 = upload(&app, &token, two_person_chat()).await;
    let job2 = start_job(&app, &token, chat2, romantic).await;
    let done = app.wait_for_job(&token, &job2).await;
    assert_eq!(done["coins_charged"], 333, "{done}");
    let failed = failed_insights(&app, &token, chat2).await;
    assert_eq!(failed.len(), 1);
    for attempt in 1..=3 {
        let r = retry(&app, &token, &failed[0]).await;
        assert_eq!(r.status(), 200, "retry {attempt}");
        // Wait for this retry to fail again before the next.
        wait_until(
            "the retried insight fails again",
            Duration::from_secs(30),
            async || {
                let status: String =
                    sqlx::query_scalar("SELECT status FROM insights WHERE id = $1::UUID")
                        .bind(&failed[0])
                        .fetch_one(&app.pool)
                        .await
                        .unwrap();
                status == "failed" && failed_insights(&app, &token, chat2).await.len() == 1
            },
        )
        .await;
    }
    let r = retry(&app, &token, &failed[0]).await;
    assert_eq!(r.status(), 409);
    assert!(
        json(r).await["detail"]
            .as_str()
            .unwrap()
            .contains("already retried 3 times")
    );
    relivchats::admin::refund_unlock(&app.pool, &app.temporal, chat2, "romantic", "test", "ops")
        .await
        .unwrap();
    wait_until(
        "the refund is in the ledger",
        Duration::from_secs(30),
        async || !ledger_rows(&app, user, "refund").await.is_empty(),
    )
    .await;
    assert_eq!(ledger_rows(&app, user, "refund").await, vec![333]);
    // The refund is recorded before the refunded job's insight would be retried.
    sqlx::query("UPDATE insights SET retry_count = 0 WHERE id = $1::UUID")
        .bind(&failed[0])
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(retry(&app, &token, &failed[0]).await.status(), 409);
    assert_eq!(app.balance_and_ledger(user).await, (400, 400));
    assert_eq!(held(&app, user).await, 0);
    assert_money_exact(&app, user).await;
    app.stop().await;
}
