//! Charging: one charge per unlock, refusals that hold nothing, double submits.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_charges_once_and_refunds_on_request() {
    let app = TestApp::spawn_with(vars(vec![(
        "UNLOCK_REFUND_WINDOW_SECS".into(),
        "120".into(),
    )]))
    .await;
    let token = app.token("happy");
    let chat = upload(&app, &token, two_person_chat()).await;
    let romantic = app.category_id("romantic").await;
    app.grant("happy", 400).await;

    let response = unlock(&app, &token, chat, romantic).await;
    let status = response.status();
    let started = json(response).await;
    assert_eq!(status, 200, "{started}");
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    assert_eq!(started["coins_deducted"], 400);
    assert_eq!(started["total_insights"], 6);
    assert_eq!(started["indexed_on_demand"], true);
    assert_eq!(started["workflow_id"], format!("unlock:{chat}:{romantic}"));

    let done = app.wait_for_job(&token, &job_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress_percentage"], 100);
    assert_eq!(done["completed_insights"], 6);
    assert_eq!(done["coins_charged"], 400);

    let insights = json(
        app.get(&format!("/api/insights/chats/{chat}"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(insights["generation_status"], "completed");
    assert_eq!(insights["category"]["name"], "romantic");
    let list = insights["insights"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    for insight in list {
        assert_eq!(insight["status"], "completed", "{insight}");
        assert!(insight["content"].is_object());
        assert!(
            insight["generation_metadata"]["model_used"]
                .as_str()
                .is_some()
        );
    }
    let chat_view = json(app.get(&format!("/api/chats/{chat}"), Some(&token)).await).await;
    assert_eq!(chat_view["insights_unlocked"], true);
    assert_eq!(chat_view["vector_status"], "completed");

    assert_eq!(
        ledger_rows(&app, "happy", "insight_unlock").await,
        vec![-400]
    );
    assert_eq!(app.balance_and_ledger("happy").await, (50, 50));

    // Unlocking again is a 409 that names the job; nothing is charged.
    let again = unlock(&app, &token, chat, romantic).await;
    assert_eq!(again.status(), 409);
    assert!(
        json(again).await["detail"]
            .as_str()
            .unwrap()
            .contains(&job_id)
    );

    // After the capture an operator refunds through the signal; a second signal changes nothing.
    let workflow = relivchats::admin::refund_unlock(
        &app.pool,
        &app.temporal,
        chat,
        "romantic",
        "complaint #42",
        "alice-ops",
    )
    .await
    .unwrap();
    assert_eq!(workflow, format!("unlock:{chat}:{romantic}"));
    // A second signal right behind the first: it lands in the same window (or on a closed
    // workflow, which refuses it); either way only the first is acted on.
    let _ = relivchats::admin::refund_unlock(
        &app.pool,
        &app.temporal,
        chat,
        "romantic",
        "again",
        "bob",
    )
    .await;
    // The refund ends the workflow: once it has closed, everything it will do is done.
    let handle = app
        .temporal
        .get_workflow_handle::<relivchats_domain::contracts::unlock::UnlockInsightsDefinition>(
            workflow.clone(),
        );
    let outcome = handle.get_result(Default::default()).await.unwrap();
    assert_eq!(outcome.coins_refunded, 400);
    assert_eq!(ledger_rows(&app, "happy", "refund").await, vec![400]);
    let reason: String = sqlx::query_scalar(
        "SELECT description FROM credit_transactions WHERE user_id = 'happy' AND type = 'refund'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(reason.contains("complaint #42"), "{reason}");
    assert_eq!(app.balance_and_ledger("happy").await, (450, 450));
    assert_money_exact(&app, "happy").await;
    assert_replays(&app, &workflow, "completed-then-refunded").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_hold_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token("poor");
    let chat = upload(&app, &token, two_person_chat()).await;
    let romantic = app.category_id("romantic").await;

    // 50 coins (the bonus) against a price of 400.
    let response = unlock(&app, &token, chat, romantic).await;
    assert_eq!(response.status(), 402);
    let body = json(response).await;
    assert_error_shape(&body);
    assert_eq!(
        (
            body["required"].as_i64(),
            body["available"].as_i64(),
            body["deficit"].as_i64()
        ),
        (Some(400), Some(50), Some(350))
    );
    let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM insight_generation_jobs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "no job, so no workflow");
    assert_eq!(held(&app, "poor").await, 0);

    // A group chat under a two-person category: 409 with a reason, nothing charged.
    app.grant("poor", 400).await;
    let group = upload(&app, &token, group_chat()).await;
    let response = unlock(&app, &token, group, romantic).await;
    assert_eq!(response.status(), 409);
    assert!(
        json(response).await["detail"]
            .as_str()
            .unwrap()
            .contains("3 participants")
    );

    let missing = unlock(&app, &token, Uuid::new_v4(), romantic).await;
    assert_eq!(missing.status(), 404);
    let other = app.token("not-the-owner");
    assert_eq!(unlock(&app, &other, chat, romantic).await.status(), 404);
    assert_eq!(app.balance_and_ledger("poor").await, (450, 450));
    assert_eq!(held(&app, "poor").await, 0);
    app.stop().await;
}

/// The API refuses a short balance with a 402 before any workflow starts; this is the other
/// guard, inside the workflow (coins spent between the check and the reservation): the
/// `reserve_coins` refusal reaches the workflow as a business failure, nothing is held or
/// charged, and the outcome says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_refused_inside_the_workflow_holds_nothing() {
    use relivchats_domain::contracts::unlock::{
        InsightTypeRef, UnlockInput, UnlockInsightsDefinition, unlock_workflow_id,
    };
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
    let app = TestApp::spawn().await;
    let token = app.token("spent");
    let chat = upload(&app, &token, two_person_chat()).await; // the 50-coin bonus only
    let romantic = app.category_id("romantic").await;
    let types: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT t.id, t.name FROM insight_types t JOIN category_insight_types c ON c.insight_type_id = t.id WHERE c.category_id = $1",
    )
    .bind(romantic)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(types.len(), 6);
    let input = UnlockInput {
        job_id: format!("job-{}", Uuid::new_v4()),
        user_id: "spent".into(),
        chat_id: chat,
        category_id: romantic,
        category_slug: "romantic".into(),
        price: 400,
        reservation_id: Uuid::new_v4(),
        insight_types: types
            .into_iter()
            .map(|(id, name)| InsightTypeRef { id, name })
            .collect(),
        timings: Default::default(),
    };
    let workflow_id = unlock_workflow_id(chat, romantic);
    let options =
        WorkflowStartOptions::new(app.config.temporal.task_queue.clone(), workflow_id.clone())
            .build();
    let handle = app
        .temporal
        .start_workflow(UnlockInsightsDefinition, input, options)
        .await
        .unwrap();
    let outcome = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.status, "failed", "{outcome:?}");
    assert_eq!((outcome.completed, outcome.failed), (0, 6));
    assert_eq!(outcome.coins_charged, 0);
    let reason = outcome.refund_reason.unwrap_or_default();
    assert!(
        reason.starts_with("Not enough coins") && reason.contains("400"),
        "{reason}"
    );
    assert_eq!(held(&app, "spent").await, 0);
    let reservations: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM coin_reservations WHERE user_id = 'spent'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reservations, 0);
    assert_eq!(app.balance_and_ledger("spent").await, (50, 50));
    assert_replays(&app, &workflow_id, "refused-in-workflow").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_submit_runs_one_workflow_and_charges_once() {
    let app = TestApp::spawn().await;
    let token = app.token("clicker");
    let chat = upload(&app, &token, two_person_chat()).await;
    let family = app.category_id("family").await;
    app.grant("clicker", 750).await; // 800: enough for two unlocks if it were charged twice

    let responses = join_all((0..10).map(|_| unlock(&app, &token, chat, family))).await;
    let mut jobs = Vec::new();
    for r in responses {
        assert_eq!(r.status(), 200);
        jobs.push(json(r).await["job_id"].as_str().unwrap().to_owned());
    }
    jobs.dedup();
    assert_eq!(jobs.len(), 1, "one job for ten identical requests");
    let done = app.wait_for_job(&token, &jobs[0]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let runs = app
        .temporal
        .count_workflows(
            format!("WorkflowId = 'unlock:{chat}:{family}'"),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(runs.count(), 1, "one workflow run");
    assert_eq!(
        ledger_rows(&app, "clicker", "insight_unlock").await,
        vec![-400]
    );
    assert_eq!(app.balance_and_ledger("clicker").await, (400, 400));
    assert_money_exact(&app, "clicker").await;
    app.stop().await;
}
