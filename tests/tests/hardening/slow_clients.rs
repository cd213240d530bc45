//! Slow clients: slow-loris headers, stalled and dribbled bodies.

use super::*;

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
