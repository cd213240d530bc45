//! An upload and an unlock move the counters.

use super::*;

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
