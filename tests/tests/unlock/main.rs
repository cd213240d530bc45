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

mod charging;
mod concurrency;
mod failures;
mod holds;
mod refunds;
mod replay;

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

fn vars(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    pairs.into_iter().collect()
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
