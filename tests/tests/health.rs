//! Health, readiness, docs, error shape and cross-cutting headers, against the real app.

use std::collections::HashMap;

use relivchats_tests::{TestApp, assert_error_shape, json, temporal_server, wait_for};

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
    let body = wait_for(
        "/health/ready turns 503 after Temporal stopped",
        std::time::Duration::from_secs(10),
        async || {
            let response = app.get("/health/ready", None).await;
            if response.status() == 503 {
                Some(json(response).await)
            } else {
                None
            }
        },
    )
    .await;
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

/// The document lists the statuses the shared layers add, with the one error body as a named
/// schema (what `scripts/contract` checks against the running app, here without schemathesis).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_shared_statuses() {
    let app = TestApp::spawn().await;
    let spec = json(app.get("/openapi.json", None).await).await;
    assert!(spec["components"]["schemas"]["ErrorBody"].is_object());
    let retry_after = &spec["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"];
    assert_eq!(retry_after["schema"]["type"], "integer", "{retry_after}");

    let op = |path: &str, method: &str| spec["paths"][path][method].clone();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        let op = op(path, method);
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"));
        responses.keys().cloned().collect()
    };
    for (path, method) in [
        ("/api/credits/balance", "get"),
        ("/api/chats/upload", "post"),
        ("/api/insights/unlock", "post"),
    ] {
        let got = statuses(path, method);
        for status in ["401", "408", "500", "503"] {
            assert!(got.contains(&status.to_owned()), "{method} {path}: {got:?}");
        }
    }
    assert!(!statuses("/api/credits/balance", "get").contains(&"422".to_owned()));
    assert!(statuses("/api/credits/transactions", "get").contains(&"422".to_owned()));
    assert!(statuses("/api/chats/upload", "post").contains(&"429".to_owned()));
    assert!(!statuses("/api/categories", "get").contains(&"401".to_owned()));
    assert!(!statuses("/api/payments/webhooks/stripe", "post").contains(&"422".to_owned()));

    // Every error response points at the named body, never a bare object.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') || response.get("$ref").is_some() {
                    continue;
                }
                let schema = &response["content"]["application/json"]["schema"];
                assert!(
                    schema["$ref"].as_str().is_some(),
                    "{method} {path} {status}: {schema}"
                );
            }
        }
    }

    let params = op("/api/credits/transactions", "get")["parameters"].clone();
    let limit = params
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);
    let upload = &op("/api/chats/upload", "post")["requestBody"]["content"]["multipart/form-data"];
    assert!(upload["schema"]["$ref"].as_str().is_some(), "{upload}");
    let form = &spec["components"]["schemas"]["UploadForm"];
    assert_eq!(form["required"], serde_json::json!(["file"]), "{form}");
    assert_eq!(form["properties"]["file"]["format"], "binary", "{form}");
}

/// PostgreSQL refuses U+0000 in text; a request carrying one is the client's mistake (422 in
/// the one body), not a 500. Found by schemathesis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_text_input_is_a_422() {
    let app = TestApp::spawn().await;
    let token = app.token("nul_user");
    for (path, token) in [
        ("/api/categories/a%00b/insights", None),
        ("/api/insights/jobs/a%00b/status", Some(token.as_str())),
    ] {
        let response = app.get(path, token).await;
        assert_eq!(response.status(), 422, "{path}");
        let body = json(response).await;
        assert_error_shape(&body);
        assert!(body["detail"].as_str().unwrap().contains("NUL"), "{body}");
    }
}
