//! Where the metrics are served: a separate listener with its token, and the worker
//! process's own.

use super::*;

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
    let m = wait_for(
        "the worker's scrape shows the completed probe workflow",
        Duration::from_secs(10),
        async || {
            let text = http
                .get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let m = parse(text);
            (m.value(
                "temporal_workflow_completed_total",
                &[("workflow_type", "HealthProbe")],
            ) >= 1.0)
                .then_some(m)
        },
    )
    .await;
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
