//! Upload amplification (issue 15, item 2): a small upload cannot unpack or parse into an
//! unbounded amount of work, and the public share page reads a bounded, precomputed value.

use std::{collections::HashMap, io::Write};

use relivchats_domain::crypto::Cipher;
use relivchats_tests::{TestApp, assert_error_shape, json};
use serde_json::Value;

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.upload_file(token, "chat.zip", bytes).await
}

fn chat(messages: usize, authors: usize) -> String {
    (0..messages)
        .map(|i| {
            format!(
                "12/08/2016, {:02}:{:02} - Person {}: hello number {i}\n",
                (i / 60) % 24,
                i % 60,
                i % authors
            )
        })
        .collect()
}

async fn counts(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT COUNT(*) FROM chats), (SELECT COUNT(*) FROM message_blocks)")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// A 64 KiB upload limit: a zip well under it whose chat unpacks to ~270 KiB is refused
/// with a 413 and a sentence (it used to be read up to 64 MiB, whatever the upload limit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_unpacking_beyond_the_upload_limit_is_refused() {
    let app = TestApp::spawn_with(HashMap::from([(
        "MAX_UPLOAD_BYTES".to_owned(),
        "65536".to_owned(),
    )]))
    .await;
    let token = app.token("zipper");
    let text = chat(6_000, 2);
    assert!(text.len() > 4 * 65536);
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        zip.start_file("_chat.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    let bytes = buffer.into_inner();
    assert!(bytes.len() < 65536, "the zip itself is within the limit");
    let response = upload(&app, &token, bytes).await;
    assert_eq!(response.status(), 413);
    let body: Value = json(response).await;
    assert_error_shape(&body);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("too large once unpacked"),
        "{body}"
    );
    assert_eq!(counts(&app).await, (0, 0));
    // The same chat, small enough, still goes through.
    let ok = upload(&app, &token, chat(100, 2).into_bytes()).await;
    assert_eq!(ok.status(), 200);
    app.stop().await;
}

/// Messages and participants per chat are capped (configurable), with a sentence in the 422.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_participants_per_chat_are_capped() {
    let app = TestApp::spawn_with(HashMap::from([
        ("MAX_CHAT_MESSAGES".to_owned(), "10".to_owned()),
        ("MAX_CHAT_PARTICIPANTS".to_owned(), "3".to_owned()),
    ]))
    .await;
    let token = app.token("prolific");
    let cases = [
        (chat(11, 2), "11 messages; we analyse chats of up to 10"),
        (chat(8, 4), "4 participants; we analyse chats with up to 3"),
    ];
    for (text, sentence) in cases {
        let response = upload(&app, &token, text.into_bytes()).await;
        assert_eq!(response.status(), 422, "{sentence}");
        let body: Value = json(response).await;
        assert_error_shape(&body);
        assert!(
            body["detail"].as_str().unwrap().contains(sentence),
            "{body}"
        );
    }
    assert_eq!(counts(&app).await, (0, 0));
    assert_eq!(
        upload(&app, &token, chat(10, 3).into_bytes())
            .await
            .status(),
        200
    );
    app.stop().await;
}

/// The public page serves what was computed when the chat was shared: it never decrypts and
/// re-parses the full metadata per anonymous request (here: metadata rewritten after sharing
/// does not show until the owner shares again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_stats_are_computed_once_when_shared() {
    let app = TestApp::spawn().await;
    let token = app.token("sharer");
    let chat_id = app.upload_chat(&token, &chat(5, 2)).await;
    let share = || async {
        let r = app
            .http
            .post(app.url(&format!("/api/chats/{chat_id}/share")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    };
    share().await;
    let public = json(app.get(&format!("/api/chats/{chat_id}/stats"), None).await).await;
    assert_eq!(public["chat_metadata"]["total_messages"], 5);
    assert_eq!(
        public["participants"],
        serde_json::json!(["Person 0", "Person 1"])
    );
    assert!(public["chat_metadata"].get("links").is_none());

    let cipher = Cipher::new(app.config.encryption_key.expose()).unwrap();
    sqlx::query("UPDATE chats SET chat_metadata = $2 WHERE id = $1")
        .bind(chat_id)
        .bind(cipher.encrypt_json(&serde_json::json!({"total_messages": 999, "links": ["x"]})))
        .execute(&app.pool)
        .await
        .unwrap();
    let again = json(app.get(&format!("/api/chats/{chat_id}/stats"), None).await).await;
    assert_eq!(again, public, "served from the subset stored at share time");

    // Unsharing removes it at once; sharing again recomputes it.
    let r = app
        .http
        .delete(app.url(&format!("/api/chats/{chat_id}/share")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get(&format!("/api/chats/{chat_id}/stats"), None)
            .await
            .status(),
        404
    );
    let stored: Option<String> = sqlx::query_scalar("SELECT public_stats FROM chats WHERE id = $1")
        .bind(chat_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.is_none(), "nothing public is kept after unsharing");
    share().await;
    let fresh = json(app.get(&format!("/api/chats/{chat_id}/stats"), None).await).await;
    assert_eq!(fresh["chat_metadata"]["total_messages"], 999);
    assert!(fresh["chat_metadata"].get("links").is_none());
    app.stop().await;
}
