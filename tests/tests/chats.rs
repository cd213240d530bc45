//! Chat ingestion end to end: upload → list → get → messages → share → stats → delete,
//! against real Postgres, with content encrypted at rest.

use std::{collections::HashMap, io::Write};

use relivchats_domain::{blocks, crypto::Cipher, whatsapp};
use relivchats_tests::{TestApp, assert_error_shape, json};
use serde_json::Value;

const CHAT: &str =
    "\u{feff}12/08/2016, 16:20 - Asha: Hi Ben! Did you see https://example.com/plan ?\r
12/08/2016, 16:21 - Ben 🎸: Yes!! 😀😀 it looks great\r
and this is a second line\r
13/08/2016, 09:00 - Asha: <Media omitted>\r
14/08/2016, 23:59 - Ben 🎸: This message was deleted\r
15/08/2016, 07:30 - Asha: Good morning ❤️\r
";

fn form(bytes: Vec<u8>, name: &str, category: Option<&str>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("application/octet-stream")
            .unwrap(),
    );
    if let Some(c) = category {
        form = form.text("category_id", c.to_owned());
    }
    form
}

async fn upload(app: &TestApp, token: &str, form: reqwest::multipart::Form) -> reqwest::Response {
    app.http
        .post(app.url("/api/chats/upload"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn chat_rows(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT COUNT(*) FROM chats), (SELECT COUNT(*) FROM message_blocks)")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_list_get_share_delete() {
    let app = TestApp::spawn().await;
    let token = app.token("chat-owner");
    let categories = json(app.get("/api/categories", None).await).await;
    let romantic = categories[0]["id"].as_str().unwrap().to_owned();

    let response = upload(
        &app,
        &token,
        form(
            CHAT.as_bytes().to_vec(),
            "WhatsApp Chat.txt",
            Some(&romantic),
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let chat = json(response).await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_owned();
    assert_eq!(chat["participants"], serde_json::json!(["Asha", "Ben 🎸"]));
    assert_eq!(chat["title"], "Asha, Ben 🎸");
    assert_eq!(chat["filename"], "Asha, Ben 🎸");
    assert_eq!(chat["status"], "completed");
    assert_eq!(chat["vector_status"], "pending");
    assert_eq!(chat["insights_generation_status"], "not_started");
    assert_eq!(chat["insights_unlocked"], false);
    assert_eq!(chat["category_slug"], "romantic");
    assert_eq!(chat["message_count"], 5);
    let meta = &chat["chat_metadata"];
    assert_eq!(meta["total_messages"], 5);
    assert_eq!(meta["media_shared_count"], 1);
    assert_eq!(meta["deleted_messages_count"], 1);
    assert_eq!(meta["links_shared_count"], 1);
    assert_eq!(meta["date_range"]["start"], "2016-08-12T16:20:00");

    // The stored blocks decrypt to exactly what the parser read from the same file, and
    // hold none of its text in the clear.
    let cipher = Cipher::new(app.config.encryption_key.expose()).unwrap();
    let rows: Vec<(i32, i32, i32, chrono::NaiveDateTime, chrono::NaiveDateTime, Vec<u8>)> =
        sqlx::query_as(
            "SELECT block_no, first_seq, message_count, first_ts, last_ts, ciphertext FROM message_blocks WHERE chat_id = $1::uuid ORDER BY block_no",
        )
        .bind(&chat_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let text = whatsapp::decode(CHAT.as_bytes()).unwrap();
    let parsed = whatsapp::parse(&text);
    let participants = ["Asha".to_owned(), "Ben 🎸".to_owned()];
    let mut stored = Vec::new();
    for (block_no, first_seq, message_count, first_ts, last_ts, ciphertext) in rows {
        for m in parsed.iter().filter(|m| !m.text.is_empty()) {
            assert!(
                !ciphertext
                    .windows(m.text.len())
                    .any(|w| w == m.text.as_bytes()),
                "content is encrypted at rest"
            );
        }
        let header = blocks::BlockHeader {
            block_no,
            first_seq,
            message_count,
            first_ts,
            last_ts,
        };
        let id = chat_id.parse().unwrap();
        stored.extend(blocks::open_block(&cipher, id, &header, &ciphertext, 2).unwrap());
    }
    assert_eq!(stored.len(), parsed.messages.len());
    for (i, (row, expected)) in stored.iter().zip(parsed.iter()).enumerate() {
        assert_eq!(row.seq, i as i32);
        assert_eq!(
            row.sender.map(|s| participants[s as usize].as_str()),
            expected.author
        );
        assert_eq!(row.text, expected.text);
        assert_eq!(row.timestamp, expected.timestamp);
    }
    let raw_title: String = sqlx::query_scalar("SELECT title FROM chats WHERE id = $1::uuid")
        .bind(&chat_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        raw_title.starts_with("gAAAAA"),
        "the title is encrypted at rest"
    );

    let listed = json(app.get("/api/chats", Some(&token)).await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["chat_id"], chat_id.as_str());
    assert_eq!(listed[0]["chat_metadata"], *meta);
    let got = json(
        app.get(&format!("/api/chats/{chat_id}"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(got, listed[0]);

    // Messages, two per page, in file order.
    let mut contents = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/chats/{chat_id}/messages?limit=2&cursor={c}"),
            None => format!("/api/chats/{chat_id}/messages?limit=2"),
        };
        let page = json(app.get(&path, Some(&token)).await).await;
        for m in page["messages"].as_array().unwrap() {
            contents.push(m["content"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<&str> = parsed.iter().map(|m| m.text).collect();
    assert_eq!(contents, expected);
    assert_eq!(
        contents[1],
        "Yes!! 😀😀 it looks great\nand this is a second line"
    );

    let vs = json(
        app.get(&format!("/api/chats/{chat_id}/vector-status"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(vs["is_searchable"], false);

    // Public statistics: 404 until shared, then without links or message text.
    assert_eq!(
        app.get(&format!("/api/chats/{chat_id}/stats"), None)
            .await
            .status(),
        404
    );
    let shared = app
        .http
        .post(app.url(&format!("/api/chats/{chat_id}/share")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(shared).await["is_shared"], true);
    let public = json(app.get(&format!("/api/chats/{chat_id}/stats"), None).await).await;
    assert_eq!(public["filename"], "Asha, Ben 🎸");
    assert_eq!(public["chat_metadata"]["total_messages"], 5);
    assert!(public["chat_metadata"].get("links").is_none());
    assert!(
        public["chat_metadata"]["user_stats"]["Asha"]
            .get("longest_message")
            .is_none()
    );
    app.http
        .delete(app.url(&format!("/api/chats/{chat_id}/share")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/api/chats/{chat_id}/stats"), None)
            .await
            .status(),
        404
    );

    // Another user sees nothing, on every route.
    let other = app.token("someone-else");
    for path in ["", "/messages", "/vector-status"] {
        let r = app
            .get(&format!("/api/chats/{chat_id}{path}"), Some(&other))
            .await;
        assert_eq!(r.status(), 404, "{path}");
        assert_error_shape(&json(r).await);
    }
    let r = app
        .http
        .delete(app.url(&format!("/api/chats/{chat_id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .http
        .post(app.url(&format!("/api/chats/{chat_id}/share")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        json(app.get("/api/chats", Some(&other)).await)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    let bad_id = app.get("/api/chats/not-a-uuid", Some(&token)).await;
    assert_eq!(bad_id.status(), 422);

    let deleted = app
        .http
        .delete(app.url(&format!("/api/chats/{chat_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(json(deleted).await["success"], true);
    assert_eq!(
        app.get(&format!("/api/chats/{chat_id}"), Some(&token))
            .await
            .status(),
        404
    );
    assert_eq!(chat_rows(&app).await, (0, 0), "blocks went with the chat");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_exports_are_read_by_content() {
    let app = TestApp::spawn().await;
    let token = app.token("zipper");
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("IMG-20160812-WA0001.jpg", options).unwrap();
        zip.write_all(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).unwrap();
        zip.start_file("_chat.txt", options).unwrap();
        zip.write_all(
            "[12/08/2016, 16:20:05] Asha: Hi\n[12/08/2016, 16:21:10] Ben: Hello\n".as_bytes(),
        )
        .unwrap();
        zip.finish().unwrap();
    }
    // Named .txt on purpose: the content decides, not the name or the MIME type.
    let response = upload(&app, &token, form(buffer.into_inner(), "chat.txt", None)).await;
    assert_eq!(response.status(), 200);
    let chat = json(response).await;
    assert_eq!(chat["participants"], serde_json::json!(["Asha", "Ben"]));
    assert_eq!(chat["chat_metadata"]["total_messages"], 2);
    assert!(chat["category_id"].is_null());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_get_a_sentence_and_leave_nothing_behind() {
    let overrides = HashMap::from([("MAX_UPLOAD_BYTES".to_owned(), "4096".to_owned())]);
    let app = TestApp::spawn_with(overrides).await;
    let token = app.token("careless");

    let cases: Vec<(Vec<u8>, Option<&str>, u16, &str)> = vec![
        (
            (0..3000u32).map(|i| (i * 7 % 251) as u8).collect(),
            None,
            400,
            "not a WhatsApp chat export",
        ),
        (
            b"%PDF-1.7 hello".to_vec(),
            None,
            400,
            "not a WhatsApp chat export",
        ),
        (
            b"just some notes\nwith no dates at all\n".to_vec(),
            None,
            400,
            "not a WhatsApp chat export",
        ),
        (b"".to_vec(), None, 400, "nothing to analyse"),
        (vec![b'a'; 5000], None, 413, "larger than"),
        (
            CHAT.as_bytes().to_vec(),
            Some("not-a-uuid"),
            422,
            "category_id",
        ),
        (
            CHAT.as_bytes().to_vec(),
            Some("00000000-0000-4000-8000-000000000000"),
            404,
            "Category not found",
        ),
    ];
    for (bytes, category, status, phrase) in cases {
        let response = upload(&app, &token, form(bytes, "x.txt", category)).await;
        assert_eq!(response.status(), status, "{phrase}");
        let body: Value = json(response).await;
        assert_error_shape(&body);
        assert!(body["detail"].as_str().unwrap().contains(phrase), "{body}");
    }
    let no_file = app
        .http
        .post(app.url("/api/chats/upload"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().text("category_id", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_file.status(), 422);
    let not_multipart = app
        .http
        .post(app.url("/api/chats/upload"))
        .bearer_auth(&token)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(not_multipart.status(), 422);
    assert_eq!(chat_rows(&app).await, (0, 0));
    app.stop().await;
}

/// The statistics a chat returns are the ones the OpenAPI document describes: the stored
/// `chat_metadata` validates against its `ChatMetadata` schema, and every key it carries,
/// `extended` ones included, is a documented property.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_are_the_documented_ones() {
    let app = TestApp::spawn().await;
    let token = app.token("documented");
    let chat = app.upload_chat(&token, CHAT).await;
    let body = json(app.get(&format!("/api/chats/{chat}"), Some(&token)).await).await;
    let metadata = &body["chat_metadata"];
    let spec = json(app.get("/openapi.json", None).await).await;
    let schemas = &spec["components"]["schemas"];
    let root = serde_json::json!({
        "$ref": "#/components/schemas/ChatMetadata",
        "components": spec["components"],
    });
    let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
    let problems: Vec<String> = validator
        .iter_errors(metadata)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        problems.is_empty(),
        "chat_metadata breaks its schema: {problems:?}"
    );
    for (object, schema) in [
        (metadata, "ChatMetadata"),
        (&metadata["extended"], "Extended"),
        (&metadata["extended"]["streaks"], "Streaks"),
        (&metadata["extended"]["media_by_type"], "MediaByType"),
    ] {
        let documented = schemas[schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema} is not described"));
        for key in object.as_object().unwrap().keys() {
            assert!(
                documented.contains_key(key),
                "{schema}.{key} is returned but not documented"
            );
        }
    }
    app.stop().await;
}
