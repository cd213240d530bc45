//! Unlocks side by side: a small shared pool, one price for parallel unlocks, and the
//! model-call budget across worker processes.

use super::*;

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
    app.database.remove_on_drop(&data_dir);
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
