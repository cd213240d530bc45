//! Health, readiness, docs, error shape and cross-cutting headers, against the real app.

use std::collections::HashMap;

use relivchats_tests::{TestApp, assert_error_shape, json, temporal_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_health_docs_and_headers() {
    let app = TestApp::spawn().await;

    let root = json(app.get("/", None).await).await;
    assert_eq!(root["message"], "RelivChats API");
    assert_eq!(root["docs"], "/docs");

    let health = json(app.get("/health", None).await).await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["environment"], "development");

    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), 200);
    let ready = json(ready).await;
    assert_eq!(ready["checks"]["postgres"]["status"], "ok");
    assert_eq!(ready["checks"]["temporal"]["status"], "ok");

    let pool = json(app.get("/health/db-pool", None).await).await;
    assert_eq!(pool["pooling_enabled"], true);
    assert_eq!(pool["pool_size"], 5);

    let spec = app.get("/openapi.json", None).await;
    assert_eq!(spec.status(), 200);
    let spec = json(spec).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/users/store",
        "/api/categories",
        "/api/credits/balance",
        "/health/ready",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let docs = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(
        bundle.status(),
        200,
        "the Swagger UI assets are served locally (no CDN)"
    );

    let response = app.get("/health", None).await;
    let headers = response.headers();
    assert!(uuid::Uuid::parse_str(headers["x-request-id"].to_str().unwrap()).is_ok());
    assert!(
        headers["x-process-time"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .is_ok()
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-xss-protection"], "1; mode=block");
    assert!(
        headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_bad_methods_and_cors_use_the_one_error_shape() {
    let app = TestApp::spawn().await;

    let missing = app.get("/api/nothing-here", None).await;
    assert_eq!(missing.status(), 404);
    assert_error_shape(&json(missing).await);

    let wrong_method = app
        .http
        .put(app.url("/api/categories"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_error_shape(&json(wrong_method).await);

    let bad_json = app
        .http
        .post(app.url("/api/users/store"))
        .bearer_auth(app.token("shape-user"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 422);
    let body = json(bad_json).await;
    assert_error_shape(&body);
    assert_eq!(body["error"]["code"], "ERR_1001");

    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/credits/balance"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
    let foreign = app
        .http
        .get(app.url("/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    app.stop().await;
}

/// With Temporal gone, `/health/ready` is a 503 that names it, while `/health` stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_names_temporal_when_it_is_down() {
    let server = temporal_server::start_dev_server(None).await;
    let app = TestApp::spawn_on(server.address.clone(), HashMap::new()).await;
    assert_eq!(app.get("/health/ready", None).await.status(), 200);

    server.kill();
    let mut last = None;
    for _ in 0..50 {
        let response = app.get("/health/ready", None).await;
        if response.status() == 503 {
            last = Some(json(response).await);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let body = last.expect("/health/ready turned 503 after Temporal stopped");
    assert!(
        body["detail"].as_str().unwrap().contains("temporal"),
        "{body}"
    );
    assert_eq!(body["checks"]["postgres"]["status"], "ok");
    assert_eq!(body["checks"]["temporal"]["status"], "down");
    assert_eq!(app.get("/health", None).await.status(), 200);

    // The worker cannot reach its server any more; don't wait for a graceful stop.
    app.database.drop_now().await;
}
