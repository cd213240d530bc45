//! The server against slow clients (slow-loris headers, stalled and dribbled bodies), and the
//! documented Docker stack against exposure: what a security review checks from the outside.

use std::{collections::HashMap, time::Duration};

use relivchats_tests::TestApp;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout},
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
    let started = Instant::now();
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
    assert!(started.elapsed() < Duration::from_secs(10));
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
