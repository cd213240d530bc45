//! The server against slow clients (slow-loris headers, stalled and dribbled bodies), and the
//! documented Docker stack against exposure: what a security review checks from the outside.

use std::{collections::HashMap, time::Duration};

use relivchats_tests::TestApp;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

async fn app_with_short_timeouts() -> TestApp {
    let overrides: HashMap<String, String> = [
        ("HTTP_HEADER_READ_TIMEOUT_SECS", "1"),
        ("HTTP_BODY_IDLE_TIMEOUT_SECS", "1"),
        ("HTTP_REQUEST_TIMEOUT_SECS", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    TestApp::spawn_with(overrides).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads what the server sends until it closes the connection (bounded: a server that never
/// answers fails the test instead of hanging it).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = timeout(Duration::from_secs(15), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept the slow connection open");
    String::from_utf8_lossy(&out).into_owned()
}

fn post_head(app: &TestApp, path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        app.token("slow-client")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    let app = app_with_short_timeouts().await;
    let mut stream = connect(&app).await;
    // Half a request line's headers, then nothing (slow-loris).
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(
        !answer.contains("200 OK"),
        "an unfinished request was served: {answer}"
    );
    // A client that does finish its headers is served as always.
    assert_eq!(app.get("/health", None).await.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_a_408() {
    let app = app_with_short_timeouts().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(post_head(&app, "/api/rag/query", 200).as_bytes())
        .await
        .unwrap();
    stream.write_all(br#"{"chat_id": "#).await.unwrap();
    // ...and the rest never comes.
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#""detail""#),
        "the one error body: {answer}"
    );
    assert!(answer.contains("stopped arriving"), "{answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dribbled_body_gets_a_408_when_the_request_takes_too_long() {
    let app = app_with_short_timeouts().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(post_head(&app, "/api/rag/query", 400).as_bytes())
        .await
        .unwrap();
    // One byte every half second: never idle for a second, but 400 bytes would take 200 s.
    let (mut reader, mut writer) = stream.into_split();
    let dribble = tokio::spawn(async move {
        for _ in 0..40 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let mut out = Vec::new();
    let read = timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    dribble.abort();
    assert!(read.is_ok(), "no answer to a dribbled body");
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("took longer than 3 seconds"), "{answer}");
    app.stop().await;
}

/// Reads a YAML document from the repository.
fn yaml(path: &str) -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap()
        .remove(0)
}

/// The documented stack publishes only the API: Temporal (anyone who reaches it can start a
/// `TopUp` or signal a refund) and Qdrant stay on the internal network, Qdrant needs a key,
/// sign-in is Clerk's, and the image defaults to production.
#[test]
fn the_compose_stack_publishes_only_the_api() {
    let compose = yaml("docker-compose.yml");
    let services = compose["services"].as_hash().unwrap();
    let mut published = Vec::new();
    for (name, service) in services {
        let name = name.as_str().unwrap();
        if let Some(ports) = service["ports"].as_vec() {
            let operators_only = service["profiles"]
                .as_vec()
                .is_some_and(|p| p.iter().any(|p| p.as_str() == Some("ops")));
            if operators_only {
                // The operators' UI: on demand, and on the host's loopback only.
                for port in ports {
                    assert!(
                        port.as_str().unwrap().starts_with("127.0.0.1:"),
                        "{name} publishes {port:?} beyond loopback"
                    );
                }
            } else {
                published.push(name.to_owned());
            }
        }
    }
    assert_eq!(published, vec!["api".to_owned()]);
    assert_eq!(
        compose["networks"]["backend"]["internal"].as_bool(),
        Some(true)
    );
    for name in ["postgres", "temporal", "qdrant"] {
        let networks: Vec<&str> = services[&yaml_rust2::Yaml::from_str(name)]["networks"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert_eq!(networks, vec!["backend"], "{name}");
    }
    let qdrant = &services[&yaml_rust2::Yaml::from_str("qdrant")];
    assert!(
        qdrant["environment"]["QDRANT__SERVICE__API_KEY"]
            .as_str()
            .unwrap()
            .contains(":?"),
        "Qdrant must require an API key"
    );
    let env = &compose["x-app-env"];
    assert_eq!(env["AUTH_MODE"].as_str(), Some("clerk"));
    assert_eq!(
        env["ENVIRONMENT"].as_str(),
        Some("${ENVIRONMENT:-production}")
    );
    for required in [
        "CLERK_JWKS_URL",
        "CLERK_ISSUER",
        "ENCRYPTION_KEY",
        "QDRANT_API_KEY",
    ] {
        assert!(
            env[required].as_str().unwrap().contains(":?"),
            "{required} must be required, not defaulted"
        );
    }
    assert!(
        env["DEV_AUTH_SECRET"].is_badvalue(),
        "no dev secret in compose"
    );
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("ENV ENVIRONMENT=production"),
        "the image must not default to development"
    );
}

const CHAT: &str =
    "01/03/2024, 09:00 - Asha: Hi, dinner at 8?\n01/03/2024, 09:01 - Ben: Yes! See you then\n";

async fn upload(app: &TestApp, token: &str) -> reqwest::Response {
    app.upload_file(token, "chat.txt", CHAT.as_bytes().to_vec())
        .await
}

async fn unlock(app: &TestApp, token: &str, chat: &str, category: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/insights/unlock"))
        .bearer_auth(token)
        .json(&serde_json::json!({"chat_id": chat, "category_id": category}))
        .send()
        .await
        .unwrap()
}

/// A 429 in the one error body, with a usable `Retry-After`.
async fn assert_429(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body = relivchats_tests::json(response).await;
    relivchats_tests::assert_error_shape(&body);
}

/// The hourly upload bound lives in the database, so it holds across replicas and deleting
/// a chat does not give its upload back; concurrent uploads cannot all slip past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_upload_bound_holds_in_the_database() {
    let overrides: HashMap<String, String> = [("MAX_UPLOADS_PER_HOUR", "3")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let app = TestApp::spawn_with(overrides).await;
    let user = "hourly";
    let token = app.token(user);
    let responses = futures::future::join_all((0..6).map(|_| upload(&app, &token))).await;
    let mut accepted = Vec::new();
    for r in responses {
        if r.status() == 200 {
            accepted.push(
                relivchats_tests::json(r).await["chat_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        } else {
            assert_eq!(r.status(), 429);
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=3600).contains(&wait), "Retry-After {wait}");
            let body = relivchats_tests::json(r).await;
            relivchats_tests::assert_error_shape(&body);
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("at most 3 an hour"),
                "{body}"
            );
        }
    }
    assert_eq!(accepted.len(), 3, "three uploads an hour");
    // Deleting a chat does not give its upload back.
    let deleted = app
        .http
        .delete(app.url(&format!("/api/chats/{}", accepted[0])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_eq!(upload(&app, &token).await.status(), 429);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chats WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored, 2,
        "only whole, accepted chats, less the deleted one"
    );
    // Another person has a bound of their own; an hour later the first has theirs back.
    assert_eq!(upload(&app, &app.token("someone-else")).await.status(), 200);
    sqlx::query("UPDATE upload_log SET uploaded_at = uploaded_at - interval '61 minutes' WHERE user_id = $1")
        .bind(user)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(upload(&app, &token).await.status(), 200);
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM upload_log WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logged, 1, "uploads older than the hour are pruned");
    app.stop().await;
}

/// Hammering uploads and unlocks past their limits gets 429s with `Retry-After`, and loses
/// nothing: only the accepted uploads exist, whole; only the accepted unlocks hold coins; the
/// ledger adds up. The database bound on running unlocks holds too, and anonymous share-page
/// requests are limited per address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hammering_the_expensive_routes_gets_429s_and_loses_nothing() {
    let llm = relivchats_tests::fake_llm::FakeLlm::start().await;
    llm.delay(Duration::from_secs(3));
    let mut overrides: HashMap<String, String> = llm.app_vars().into_iter().collect();
    for (k, v) in [
        ("RATE_LIMIT_UPLOADS_PER_MINUTE", "3"),
        ("RATE_LIMIT_UNLOCKS_PER_MINUTE", "3"),
        ("RATE_LIMIT_PUBLIC_STATS_PER_MINUTE", "5"),
        ("MAX_RUNNING_UNLOCKS_PER_USER", "1"),
        ("UNLOCK_REFUND_WINDOW_SECS", "0"),
    ] {
        overrides.insert(k.to_owned(), v.to_owned());
    }
    let app = TestApp::spawn_with(overrides).await;
    let user = "hammer";
    let token = app.token(user);

    let responses = futures::future::join_all((0..8).map(|_| upload(&app, &token))).await;
    let mut chats = Vec::new();
    for r in responses {
        if r.status() == 200 {
            chats.push(
                relivchats_tests::json(r).await["chat_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        } else {
            assert_429(r).await;
        }
    }
    assert_eq!(chats.len(), 3, "three uploads a minute");
    let (stored, messages): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(message_count), 0)::BIGINT FROM chats WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((stored, messages), (3, 6), "only whole, accepted chats");
    // Another person has a bucket of their own.
    assert_eq!(upload(&app, &app.token("someone-else")).await.status(), 200);

    relivchats_api::ledger::admin_adjust(
        &app.pool,
        &relivchats_domain::UserId::parse(user).unwrap(),
        1950,
        "test set-up",
    )
    .await
    .unwrap();
    let categories = relivchats_tests::json(app.get("/api/categories", None).await).await;
    let family = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "family")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .unwrap();
    // One unlock at a time per user (the database bound), three requests a minute (the bucket).
    assert_eq!(unlock(&app, &token, &chats[0], &family).await.status(), 200);
    assert_429(unlock(&app, &token, &chats[1], &family).await).await;
    let mut limited = 0;
    for chat in &chats {
        let r = unlock(&app, &token, chat, &family).await;
        match r.status().as_u16() {
            200 => {} // the running one, attached again
            429 => {
                limited += 1;
                assert_429(r).await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(limited >= 2, "{limited}");
    let held: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount), 0)::BIGINT FROM coin_reservations WHERE user_id = $1 AND status = 'held'",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(held <= 400, "only the accepted unlock holds coins: {held}");
    let (balance, ledger) = app.balance_and_ledger(user).await;
    assert_eq!(balance, ledger);

    // The share page, anonymous: five a minute per address.
    let share = app
        .http
        .post(app.url(&format!("/api/chats/{}/share", chats[2])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(share.status(), 200);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let r = app
            .get(&format!("/api/chats/{}/stats", chats[2]), None)
            .await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert_429(r).await;
        }
    }
    assert_eq!(statuses[..5], [200; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 2], "{statuses:?}");
    app.stop().await;
}

/// Other platforms' exports go through the same upload (told apart by content), and the chat
/// records which platform it came from; a full-account Telegram export with several chats is
/// refused with a sentence that names them, storing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_and_messenger_exports_upload_like_whatsapp() {
    let app = TestApp::spawn().await;
    let token = app.token("importer");
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/../domain/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    for (file, platform) in [
        ("telegram_personal.json", "telegram"),
        ("messenger_message_1.json", "messenger"),
    ] {
        let chat = app.upload_chat(&token, &fixture(file)).await;
        let detail =
            relivchats_tests::json(app.get(&format!("/api/chats/{chat}"), Some(&token)).await)
                .await;
        assert_eq!(detail["platform"], platform, "{file}: {detail}");
        assert!(detail["message_count"].as_i64().unwrap() > 0, "{detail}");
    }
    let response = app
        .upload_file(
            &token,
            "result.json",
            fixture("telegram_full_account.json").into_bytes(),
        )
        .await;
    let status = response.status().as_u16();
    let body = relivchats_tests::json(response).await;
    assert!((400..500).contains(&status), "{status}: {body}");
    relivchats_tests::assert_error_shape(&body);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("Bob") && detail.contains("Climbing club"),
        "{body}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chats WHERE user_id = 'importer'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2, "the refused export stored nothing");
    app.stop().await;
}
