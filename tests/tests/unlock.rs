//! The unlock saga against the real dev server, real Postgres, Qdrant Edge and the offline
//! analyst (or a fake OpenAI-compatible model where a test needs failures or slowness).

use std::{collections::HashMap, time::Duration};

use futures::future::join_all;
use relivchats_activities::ledger;
use relivchats_domain::{
    UserId,
    contracts::unlock::{CaptureInput, RefundInput, ReleaseInput, ReserveInput},
};
use relivchats_tests::{
    TestApp, assert_error_shape, fake_llm::FakeLlm, json, two_person_chat, wait_until,
};
use serde_json::Value;
use uuid::Uuid;

fn group_chat() -> String {
    "01/03/2024, 09:00 - Asha: Hi all\n01/03/2024, 09:01 - Ben: Hey\n01/03/2024, 09:02 - Chen: Hello!\n".to_owned()
}

async fn upload(app: &TestApp, token: &str, text: String) -> Uuid {
    app.upload_chat(token, &text).await
}

async fn unlock(app: &TestApp, token: &str, chat: Uuid, category: Uuid) -> reqwest::Response {
    app.http
        .post(app.url("/api/insights/unlock"))
        .bearer_auth(token)
        .json(&serde_json::json!({"chat_id": chat, "category_id": category}))
        .send()
        .await
        .unwrap()
}

/// Starts an unlock that must be accepted; returns its job id.
async fn start_job(app: &TestApp, token: &str, chat: Uuid, category: Uuid) -> String {
    let response = unlock(app, token, chat, category).await;
    let status = response.status();
    let body = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["job_id"].as_str().unwrap().to_owned()
}

async fn ledger_rows(app: &TestApp, user: &str, kind: &str) -> Vec<i64> {
    sqlx::query_scalar("SELECT amount::BIGINT FROM credit_transactions WHERE user_id = $1 AND type = $2 ORDER BY created_at")
        .bind(user)
        .bind(kind)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn held(app: &TestApp, user: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(SUM(amount), 0)::BIGINT FROM coin_reservations WHERE user_id = $1 AND status = 'held'")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Every reservation ended exactly once, and balance == sum(ledger).
async fn assert_money_exact(app: &TestApp, user: &str) {
    let (balance, ledger) = app.balance_and_ledger(user).await;
    assert_eq!(balance, ledger, "balance must equal the sum of the ledger");
    let captures: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credit_transactions WHERE user_id = $1 AND type = 'insight_unlock' GROUP BY reservation_id HAVING COUNT(*) > 1",
    )
    .bind(user)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
    .unwrap_or(0);
    assert_eq!(captures, 0, "a reservation was captured twice");
}

/// Where recorded unlock histories are kept: each one replays in
/// `histories_of_earlier_workflow_versions_still_replay`.
const HISTORY_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/unlock-histories");

fn unlock_replayer() -> temporalio_sdk::workflow_replayer::WorkflowReplayer {
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<relivchats_workflows::UnlockInsightsWorkflow>()
        .unwrap()
        .build();
    WorkflowReplayer::new(options).unwrap()
}

/// An unlock workflow's whole history as proto JSON, once the workflow has closed (the job row
/// is written a moment before its last workflow task completes).
async fn closed_history_json(app: &TestApp, workflow_id: &str) -> Vec<u8> {
    use relivchats_domain::contracts::unlock::UnlockInsightsDefinition;
    let handle = app
        .temporal
        .get_workflow_handle::<UnlockInsightsDefinition>(workflow_id.to_owned());
    handle.get_result(Default::default()).await.unwrap();
    handle
        .fetch_history(Default::default())
        .to_json()
        .await
        .unwrap()
}

async fn closed_history(app: &TestApp, workflow_id: &str) -> Value {
    serde_json::from_slice(&closed_history_json(app, workflow_id).await).unwrap()
}

/// The workflow's recorded history replays against today's code: no non-determinism. With
/// `RECORD_UNLOCK_HISTORIES=v3` (a version tag) the history is also saved as `v3-{label}.json`
/// among the fixtures, never over an existing one: record before changing the workflow, so the
/// new code is checked against the old runs.
async fn assert_replays(app: &TestApp, workflow_id: &str, label: &str) {
    let json = closed_history_json(app, workflow_id).await;
    if let Ok(version) = std::env::var("RECORD_UNLOCK_HISTORIES") {
        std::fs::create_dir_all(HISTORY_FIXTURES).unwrap();
        let path = format!("{HISTORY_FIXTURES}/{version}-{label}.json");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &json))
            .unwrap_or_else(|e| panic!("cannot save {path}: {e}"));
    }
    let history = temporalio_client::WorkflowHistory::from_json(&json).unwrap();
    unlock_replayer()
        .replay_workflow(history)
        .await
        .expect("the unlock history replays deterministically");
}

/// Every saved history (from earlier versions of the workflow, see [`assert_replays`]) still
/// replays: a change of commands must sit behind `ctx.patched`, or runs in flight during a
/// deploy would fail.
#[tokio::test]
async fn histories_of_earlier_workflow_versions_still_replay() {
    use temporalio_client::WorkflowHistory;
    let mut paths: Vec<_> = std::fs::read_dir(HISTORY_FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no recorded histories in {HISTORY_FIXTURES}"
    );
    for path in paths {
        let history = WorkflowHistory::from_json(&std::fs::read(&path).unwrap()).unwrap();
        unlock_replayer()
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} no longer replays: {e}", path.display()));
    }
}

fn vars(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

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

/// Concurrent unlocks share a small pool without starving it: no activity of any of them
/// fails or needs a second attempt. (`index_chat` once held a pooled connection for its whole
/// run; concurrent indexings then timed out waiting for connections and were retried.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unlocks_share_a_small_pool() {
    use relivchats_domain::contracts::unlock::UnlockInsightsDefinition;
    let app = TestApp::spawn_with(vars(vec![
        ("DATABASE_MAX_CONNECTIONS".into(), "3".into()),
        ("UNLOCK_REFUND_WINDOW_SECS".into(), "0".into()),
    ]))
    .await;
    let workplace = app.category_id("workplace").await;
    let mut started = Vec::new();
    for u in 0..4 {
        let user = format!("pool-{u}");
        let token = app.token(&user);
        app.grant(&user, 400).await;
        started.push((token.clone(), upload(&app, &token, two_person_chat()).await));
    }
    let responses = join_all(
        started
            .iter()
            .map(|(token, chat)| unlock(&app, token, *chat, workplace)),
    )
    .await;
    let mut workflows = Vec::new();
    for r in responses {
        assert_eq!(r.status(), 200);
        workflows.push(json(r).await["workflow_id"].as_str().unwrap().to_owned());
    }
    for id in &workflows {
        let handle = app
            .temporal
            .get_workflow_handle::<UnlockInsightsDefinition>(id.clone());
        let outcome = handle.get_result(Default::default()).await.unwrap();
        assert_eq!(outcome.status, "completed", "{id}: {outcome:?}");
        let history = closed_history(&app, id).await;
        let mut retried = Vec::new();
        find_retries(&history, "", &mut retried);
        assert!(
            retried.is_empty(),
            "{id}: activities failed or were retried: {retried:?}"
        );
    }
    for u in 0..4 {
        assert_money_exact(&app, &format!("pool-{u}")).await;
    }
    app.stop().await;
}

/// Collects every failed activity task and every activity start after the first attempt, in
/// a history in proto JSON (whatever the key case).
fn find_retries(value: &Value, parent: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let k = key.to_lowercase().replace('_', "");
                if k.contains("activitytaskfailed") && child.is_object() {
                    found.push(child.to_string());
                }
                if k == "attempt"
                    && parent.contains("activitytaskstarted")
                    && child.as_i64().is_some_and(|a| a > 1)
                {
                    found.push(format!("attempt {child}"));
                }
                find_retries(child, &k, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| find_retries(i, parent, found)),
        _ => {}
    }
}

/// Every completed insight of `user` belongs to an unlock that captured coins and kept them.
async fn assert_no_unpaid_insights(app: &TestApp, user: &str) {
    let unpaid: Vec<(String, String)> = sqlx::query_as(
        r#"SELECT t.name, COALESCE(r.status, 'no reservation') FROM insights i
           JOIN chats c ON c.id = i.chat_id
           JOIN insight_types t ON t.id = i.insight_type_id
           LEFT JOIN insight_generation_jobs j ON j.job_id = i.job_id
           LEFT JOIN coin_reservations r ON r.id = j.reservation_id
           WHERE c.user_id = $1 AND i.status = 'completed'
             AND NOT COALESCE(r.status = 'captured' AND r.captured_amount > 0 AND r.refunded_amount = 0, FALSE)"#,
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(unpaid.is_empty(), "insights nobody paid for: {unpaid:?}");
}

async fn retry(app: &TestApp, token: &str, insight: &str) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/api/insights/{insight}/retry")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The ids of a chat's failed insights.
async fn failed_insights(app: &TestApp, token: &str, chat: Uuid) -> Vec<String> {
    let insights = json(
        app.get(&format!("/api/insights/chats/{chat}"), Some(token))
            .await,
    )
    .await;
    insights["insights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "failed")
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// With exactly one price in the account, parallel unlocks — three categories of one chat, and
/// three chats at once — start exactly one paid unlock: the balance check, the hold and the
/// one-unlock-per-chat rule are one transaction. (Before, every request passed the checks, the
/// extra workflows failed their reservation and left six failed insights each, which the free
/// retry then generated for nothing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_unlocks_with_one_price_unlock_once() {
    let app =
        TestApp::spawn_with(vars(vec![("UNLOCK_REFUND_WINDOW_SECS".into(), "0".into())])).await;
    let user = "one-price";
    let token = app.token(user);
    app.grant(user, 350).await; // 400 with the bonus: one unlock
    let chat = upload(&app, &token, two_person_chat()).await;
    let mut categories = Vec::new();
    for slug in ["romantic", "friendship", "family"] {
        categories.push(app.category_id(slug).await);
    }
    let responses = join_all(categories.iter().map(|c| unlock(&app, &token, chat, *c))).await;
    let mut accepted = Vec::new();
    for r in responses {
        let status = r.status().as_u16();
        let body = json(r).await;
        match status {
            200 => accepted.push(body["job_id"].as_str().unwrap().to_owned()),
            402 | 409 => assert_error_shape(&body),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(accepted.len(), 1, "one unlock for one price");
    let done = app.wait_for_job(&token, &accepted[0]).await;
    assert_eq!(done["status"], "completed", "{done}");

    // Three chats at once, with one price again.
    app.grant(user, 400).await;
    let chats = join_all((0..3).map(|_| upload(&app, &token, two_person_chat()))).await;
    let responses = join_all(
        chats
            .iter()
            .map(|c| unlock(&app, &token, *c, categories[2])),
    )
    .await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 402).count(),
        2,
        "{statuses:?}"
    );
    let jobs: Vec<String> = sqlx::query_scalar(
        "SELECT job_id FROM insight_generation_jobs WHERE user_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for job in &jobs {
        app.wait_for_job(&token, job).await;
    }
    // Whatever failed along the way cannot be retried into a free insight.
    for chat in chats.iter().chain([&chat]) {
        for id in failed_insights(&app, &token, *chat).await {
            assert_eq!(retry(&app, &token, &id).await.status(), 409);
        }
    }
    assert_eq!(
        ledger_rows(&app, user, "insight_unlock").await,
        vec![-400, -400]
    );
    assert_eq!(app.balance_and_ledger(user).await, (0, 0));
    assert_eq!(held(&app, user).await, 0);
    assert_no_unpaid_insights(&app, user).await;
    assert_money_exact(&app, user).await;
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

/// The model-call budget holds across worker processes: this test's app and a second
/// `relivchats worker` process poll the model queue under a task-queue limit of N activities a
/// second, and a burst of 18 insights reaches the model no faster than the server's token
/// bucket allows, though both processes call it. Measured on the dev server (one partition
/// per queue): N + 1 at once, then one every 1/N s. A cluster splits the limit across a
/// queue's partitions, each with a burst of its own, so its first second can admit more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_calls_keep_the_task_queue_budget_across_workers() {
    use tokio::io::AsyncBufReadExt;
    const PER_SECOND: f64 = 3.0;
    let llm = FakeLlm::start().await;
    let mut overrides = llm.app_vars();
    overrides.push(("MODEL_ACTIVITIES_PER_SECOND".into(), PER_SECOND.to_string()));
    let app = TestApp::spawn_with(vars(overrides.clone())).await;
    // The second process: same database, queues, key and limit; its own data directory (its
    // Edge shard is empty, so its insights are written from no excerpts) and model name, so
    // the fake model can tell its calls apart.
    let data_dir = std::env::temp_dir().join(format!("relivchats-worker-{}", Uuid::new_v4()));
    let mut child = tokio::process::Command::new(relivchats_tests::relivchats_binary())
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(overrides)
        .envs([
            ("ENVIRONMENT", "development"),
            ("DATABASE_URL", app.database.url.as_str()),
            ("DATABASE_MAX_CONNECTIONS", "5"),
            ("TEMPORAL_ADDRESS", app.config.temporal.address.as_str()),
            (
                "TEMPORAL_TASK_QUEUE",
                app.config.temporal.task_queue.as_str(),
            ),
            ("ENCRYPTION_KEY", app.config.encryption_key.expose()),
            ("DATA_DIR", data_dir.to_str().unwrap()),
            ("METRICS_BIND_ADDR", "127.0.0.1:0"),
            ("OPENAI_MODEL", "fake-model-second-process"),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("relivchats worker starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("Temporal worker polling") {
                return;
            }
        }
        panic!("relivchats worker exited before polling");
    })
    .await
    .expect("relivchats worker polls within a minute");
    let family = app.category_id("family").await;
    let mut jobs = Vec::new();
    for user in ["budget-a", "budget-b", "budget-c"] {
        let token = app.token(user);
        app.grant(user, 350).await;
        let chat = upload(&app, &token, two_person_chat()).await;
        jobs.push((token, chat));
    }
    let started = join_all(
        jobs.iter()
            .map(|(token, chat)| start_job(&app, token, *chat, family)),
    )
    .await;
    for ((token, _), job) in jobs.iter().zip(&started) {
        let done = app.wait_for_job(token, job).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    let arrivals = llm.arrivals();
    assert_eq!(arrivals.len(), 18, "one model call per insight");
    println!(
        "model calls at (s): {:?}",
        arrivals
            .iter()
            .map(|t| format!("{:.2}", (*t - arrivals[0]).as_secs_f64()))
            .collect::<Vec<_>>()
    );
    // A bucket of N + 1 tokens refilled at N a second lets k calls through in a span of
    // (k − N − 1) / N seconds at the least; a quarter second covers poll and network jitter.
    let mut windows = Vec::new();
    for i in 0..arrivals.len() {
        for j in i + 1..arrivals.len() {
            let span = (arrivals[j] - arrivals[i]).as_secs_f64();
            let calls = (j - i + 1) as f64;
            let least = (calls - PER_SECOND - 1.0) / PER_SECOND - 0.25;
            assert!(
                span >= least,
                "{calls} model calls arrived within {span:.2} s; the budget allows that many in no less than {least:.2} s"
            );
        }
        let in_a_second = arrivals[i..]
            .iter()
            .take_while(|t| (**t - arrivals[i]).as_secs_f64() < 1.0)
            .count();
        windows.push(in_a_second);
    }
    println!("model calls in the second after each call: {windows:?}");
    let models = llm.models();
    let second = models
        .iter()
        .filter(|m| *m == "fake-model-second-process")
        .count();
    println!(
        "model calls by the second process: {second} of {}",
        models.len()
    );
    assert!(
        (1..18).contains(&second),
        "both processes ran insights: {models:?}"
    );
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&data_dir);
    for user in ["budget-a", "budget-b", "budget-c"] {
        assert_money_exact(&app, user).await;
    }
    app.stop().await;
}
