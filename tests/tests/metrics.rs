//! `/metrics`: after an upload and an unlock the counters have moved; the endpoint can live on
//! a listener of its own behind a token; the worker-only process serves its own.
//!
//! Scrapes are parsed with `prometheus-parse`. That parser drops any sample whose label value
//! holds a `}` (its label pattern is `[^}]+`), which route templates like
//! `/api/chats/{chat_id}` do, so those few assertions read the text itself.

use std::{collections::HashMap, time::Duration};

use futures::future::join_all;
use prometheus_parse::{Sample, Scrape, Value};
use relivchats::{Application, Config, Role};
use relivchats_activities::ledger::{self, Moved};
use relivchats_domain::contracts::unlock::{CaptureInput, RefundInput, ReleaseInput, ReserveInput};
use relivchats_tests::{
    TestApp, TestDatabase, base_vars, fake_llm::FakeLlm, json, temporal_server,
};
use uuid::Uuid;

/// One parsed scrape, plus its text for the label values the parser cannot read.
struct Metrics {
    text: String,
    scrape: Scrape,
}

impl Metrics {
    fn samples<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.scrape.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    /// The sum over every series of `name` with these labels (0 when there is none): a
    /// counter's or gauge's value, a histogram's observation count.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(name, labels)
            .map(|s| match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                Value::Summary(_) => panic!("{name} is not expected to be a summary"),
            })
            .sum()
    }

    /// A histogram's `_sum` (a separate sample in the text format).
    fn histogram_sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(&format!("{name}_sum"), labels)
    }
}

async fn scrape(app: &TestApp, base: &str, token: Option<&str>) -> Metrics {
    let mut request = app.http.get(format!("{base}/metrics"));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(response.text().await.unwrap())
}

fn parse(text: String) -> Metrics {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("a valid scrape");
    Metrics { text, scrape }
}

/// Scrapes until `ready` holds (bounded): the SDK records some series just after the server
/// has learnt of what they count.
async fn scrape_until(
    app: &TestApp,
    base: &str,
    token: Option<&str>,
    ready: impl Fn(&Metrics) -> bool,
) -> Metrics {
    for _ in 0..100 {
        let m = scrape(app, base, token).await;
        if ready(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the scrape never showed what the test waited for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_moves_the_counters() {
    let fake = FakeLlm::start().await;
    let app = TestApp::spawn_with(fake.app_vars().into_iter().collect()).await;
    let before = scrape(&app, &app.address, None).await;
    assert_eq!(before.value("relivchats_unlocks_started_total", &[]), 0.0);
    assert_eq!(before.value("relivchats_build_info", &[]), 1.0);

    let token = app.token("metrics-user");
    let text = relivchats_tests::two_person_chat();
    let chat_id = app.upload_chat(&token, &text).await;
    let category = app.category_id("romantic").await;
    app.grant("metrics-user", 400).await;
    let response = app
        .http
        .post(app.url("/api/insights/unlock"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"chat_id": chat_id, "category_id": category}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let started = json(response).await;
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    let done = app.wait_for_job(&token, &job_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let charged = done["coins_charged"].as_f64().unwrap();
    assert!(charged > 0.0);
    // A path with an id in it, to see that the label is its template.
    assert_eq!(
        app.get(&format!("/api/chats/{chat_id}"), Some(&token))
            .await
            .status(),
        200
    );
    // An address no route matches.
    assert_eq!(app.get("/no/such/page", None).await.status(), 404);

    let m = scrape_until(&app, &app.address, None, |m| {
        m.value(
            "temporal_activity_execution_latency_seconds",
            &[("activity_type", "generate_insight")],
        ) >= 6.0
    })
    .await;

    // HTTP: by method, route template and status, with a latency histogram.
    let upload = [
        ("method", "POST"),
        ("route", "/api/chats/upload"),
        ("status", "200"),
    ];
    assert_eq!(m.value("relivchats_http_requests_total", &upload), 1.0);
    assert_eq!(
        m.value("relivchats_http_request_duration_seconds", &upload),
        1.0
    );
    assert!(m.histogram_sum("relivchats_http_request_duration_seconds", &upload) > 0.0);
    assert_eq!(
        m.value(
            "relivchats_http_requests_total",
            &[("route", "/api/insights/unlock"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "relivchats_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    assert!(
        m.text.contains(
            r#"relivchats_http_requests_total{method="GET",route="/api/chats/{chat_id}",status="200"} 1"#
        ),
        "the templated route is the label"
    );
    assert!(
        m.text
            .contains(r#"route="/api/insights/jobs/{job_id}/status""#)
    );
    for id in [chat_id.to_string(), job_id.clone()] {
        assert!(!m.text.contains(&id), "a raw id reached a label: {id}");
    }
    assert!(!m.text.contains("/no/such/page"));

    // Uploads: outcome, bytes, messages, duration.
    assert_eq!(
        m.value("relivchats_uploads_total", &[("outcome", "stored")]),
        1.0
    );
    assert_eq!(m.value("relivchats_upload_bytes", &[]), 1.0);
    assert_eq!(
        m.histogram_sum("relivchats_upload_bytes", &[]),
        text.len() as f64
    );
    assert_eq!(m.histogram_sum("relivchats_upload_messages", &[]), 96.0);
    assert_eq!(
        m.value(
            "relivchats_upload_duration_seconds",
            &[("outcome", "stored")]
        ),
        1.0
    );

    // The unlock: started once, settled once, the coins it captured.
    assert_eq!(m.value("relivchats_unlocks_started_total", &[]), 1.0);
    assert_eq!(
        m.value(
            "relivchats_unlocks_settled_total",
            &[("outcome", "completed")]
        ),
        1.0
    );
    assert_eq!(
        m.value("relivchats_unlock_coins_total", &[("movement", "captured")]),
        charged
    );
    assert_eq!(
        m.value("relivchats_unlock_coins_total", &[("movement", "refunded")]),
        0.0
    );

    // Model calls: one per call the fake model answered, with the tokens it reported.
    let calls = fake.calls() as f64;
    assert!(calls >= 6.0, "six insights, six calls at least");
    let openai_ok = [("provider", "openai"), ("outcome", "ok")];
    assert_eq!(m.value("relivchats_model_calls_total", &openai_ok), calls);
    assert_eq!(
        m.value("relivchats_model_call_duration_seconds", &openai_ok),
        calls
    );
    assert_eq!(
        m.value(
            "relivchats_model_tokens_total",
            &[("provider", "openai"), ("kind", "prompt")]
        ),
        100.0 * calls
    );
    assert_eq!(
        m.value(
            "relivchats_model_tokens_total",
            &[("provider", "openai"), ("kind", "output")]
        ),
        50.0 * calls
    );

    // The vector store: indexing wrote, each insight queried.
    let store = |op| {
        m.value(
            "relivchats_vector_store_operation_duration_seconds",
            &[
                ("store", "qdrant-edge"),
                ("operation", op),
                ("outcome", "ok"),
            ],
        )
    };
    assert!(store("upsert") >= 1.0);
    assert!(store("query") >= 6.0);

    // Both pools, sampled now.
    for pool in ["api", "worker"] {
        assert_eq!(
            m.value("relivchats_db_pool_max_connections", &[("pool", pool)]),
            5.0
        );
        assert_eq!(
            m.samples("relivchats_db_pool_connections", &[("pool", pool)])
                .count(),
            2,
            "idle and in_use for {pool}"
        );
    }

    // The Temporal SDK's worker metrics, in the same scrape.
    assert!(
        m.value(
            "temporal_local_activity_total",
            &[("activity_type", "capture_coins")]
        ) >= 1.0
    );
    assert!(
        m.samples("temporal_worker_task_slots_available", &[])
            .any(|s| s.labels.get("service_name").is_some())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_separate_metrics_listener_keeps_it_off_the_api_and_wants_its_token() {
    let app = TestApp::spawn_with(HashMap::from([
        ("METRICS_BIND_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("METRICS_TOKEN".to_owned(), "scrape-secret".to_owned()),
    ]))
    .await;
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    assert_eq!(app.get("/metrics", None).await.status(), 404);
    for token in [None, Some("wrong")] {
        let mut request = app.http.get(format!("{metrics}/metrics"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
    }
    // The API's requests are counted; the scrapes themselves are not API traffic.
    assert_eq!(app.get("/health", None).await.status(), 200);
    // A webhook for a provider this server has not configured: refused, and counted so.
    let webhook = app
        .http
        .post(app.url("/api/payments/webhooks/stripe"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 503);
    let m = scrape(&app, &metrics, Some("scrape-secret")).await;
    assert_eq!(
        m.value(
            "relivchats_http_requests_total",
            &[("route", "/health"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        m.value("relivchats_http_requests_total", &[("route", "/metrics")]),
        0.0
    );
    assert_eq!(
        m.value(
            "relivchats_webhook_deliveries_total",
            &[("provider", "stripe"), ("result", "unavailable")]
        ),
        1.0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_process_serves_its_own_metrics() {
    let database = TestDatabase::create().await;
    let temporal = temporal_server::shared_address().await;
    let mut vars = base_vars(&database, &temporal, "worker-metrics-secret");
    vars.insert("METRICS_BIND_ADDR".into(), "127.0.0.1:0".into());
    let config = Config::from_map(&vars).unwrap();
    let worker = Application::build(&config, Role::Worker).await.unwrap();
    let base = format!(
        "http://{}",
        worker.metrics_addr().expect("a metrics listener")
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let client = relivchats::temporal::connect(&config.temporal, Duration::from_secs(10))
        .await
        .unwrap();
    relivchats::temporal::run_probe(
        &client,
        &config.temporal.task_queue,
        "metrics-test",
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let mut seen = None;
    for _ in 0..100 {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let m = parse(text);
        if m.value(
            "temporal_workflow_completed_total",
            &[("workflow_type", "HealthProbe")],
        ) >= 1.0
        {
            seen = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = seen.expect("the worker's scrape shows the completed probe workflow");
    assert!(
        m.value(
            "temporal_activity_execution_latency_seconds",
            &[("activity_type", "probe_database")]
        ) >= 1.0
    );
    assert_eq!(
        m.value("relivchats_db_pool_max_connections", &[("pool", "worker")]),
        5.0
    );
    assert_eq!(
        m.samples("relivchats_db_pool_connections", &[("pool", "api")])
            .count(),
        0,
        "a worker-only process has no API pool"
    );
    // The worker has no API: no HTTP series were recorded.
    assert_eq!(m.value("relivchats_http_requests_total", &[]), 0.0);

    let _ = stop.send(());
    running.await.unwrap().unwrap();
    database.drop_now().await;
}

/// The coin series count what the database says a call moved, so a ledger activity that is
/// retried, or runs on two workers at once, reports its coins once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlements_report_their_coins_once_however_often_they_run() {
    let app = TestApp::spawn().await;
    let token = app.token("metrics-ledger");
    let chat_id = app
        .upload_chat(&token, &relivchats_tests::two_person_chat())
        .await;
    let category = app.category_id("romantic").await;
    app.grant("metrics-ledger", 400).await;
    let hold = |amount| ReserveInput {
        reservation_id: Uuid::new_v4(),
        user_id: "metrics-ledger".into(),
        chat_id,
        category_id: category,
        workflow_id: "test".into(),
        amount,
        hold_secs: 60,
    };
    let sum = |moved: Vec<Result<(_, Moved), ledger::LedgerError>>| {
        moved.into_iter().fold(Moved::default(), |a, r| {
            let m = r.unwrap().1;
            Moved {
                captured: a.captured + m.captured,
                released: a.released + m.released,
                refunded: a.refunded + m.refunded,
            }
        })
    };

    let first = hold(300);
    ledger::reserve(&app.pool, &first).await.unwrap();
    let capture = CaptureInput {
        reservation_id: first.reservation_id,
        amount: 200,
        description: "partial".into(),
        job_id: "j".into(),
    };
    let moved = sum(join_all((0..5).map(|_| ledger::capture_moving(&app.pool, &capture))).await);
    assert_eq!(
        moved,
        Moved {
            captured: 200,
            released: 100,
            refunded: 0
        }
    );
    let refund = RefundInput {
        reservation_id: first.reservation_id,
        reason: "complaint".into(),
        operator: "ops".into(),
    };
    let moved = sum(join_all((0..3).map(|_| ledger::refund_moving(&app.pool, &refund))).await);
    assert_eq!(moved.refunded, 200);

    let second = hold(100);
    ledger::reserve(&app.pool, &second).await.unwrap();
    let release = ReleaseInput {
        reservation_id: second.reservation_id,
        reason: "deadline".into(),
        expired: false,
    };
    let moved = sum(join_all((0..3).map(|_| ledger::release_moving(&app.pool, &release))).await);
    assert_eq!(moved.released, 100);
    app.stop().await;
}
