//! Messages stored as blocks, end to end against real Postgres: block boundaries (inside a
//! multi-line message, across pages), a tampered block, an upload failing halfway, and a
//! chat written in the old per-message layout read after `relivchats migrate`.

use std::collections::HashMap;

use relivchats_domain::{crypto::Cipher, whatsapp};
use relivchats_tests::{TestApp, TestDatabase, json, temporal_server};
use serde_json::Value;
use uuid::Uuid;

/// 23 messages: multi-line ones (one of them long) at several positions, a system line, an
/// empty-looking media line, emoji.
fn chat_text() -> String {
    let mut out = String::new();
    for i in 0..23 {
        let who = if i % 3 == 0 { "Ben 🎸" } else { "Asha" };
        let body = match i {
            4 => "first line of four\nsecond line\n\nfourth line, after a blank one".to_owned(),
            9 => format!("a long one: {}\nand its tail", "la ".repeat(40)),
            10 => "<Media omitted>".to_owned(),
            15 => "two\nlines ❤️".to_owned(),
            _ => format!("message {i} 😀"),
        };
        if i == 7 {
            out.push_str("12/08/2016, 16:27 - Asha changed the group description\n");
            continue;
        }
        out.push_str(&format!("12/08/2016, 16:{:02} - {who}: {body}\n", 20 + i));
    }
    out
}

/// Every message through `/messages` with page size `limit`: (id, sender, content, timestamp).
async fn read_all(app: &TestApp, token: &str, chat_id: Uuid, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/chats/{chat_id}/messages?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let response = app.get(&path, Some(token)).await;
        assert_eq!(response.status(), 200, "{path}");
        let page = json(response).await;
        let messages = page["messages"].as_array().unwrap();
        assert!(messages.len() <= limit);
        out.extend(messages.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(messages.len(), limit, "only a full page has a next one");
                cursor = Some(c.to_owned());
            }
            None => break,
        }
    }
    out
}

fn small_blocks(messages: usize, bytes: usize) -> HashMap<String, String> {
    HashMap::from([
        ("MESSAGE_BLOCK_MESSAGES".to_owned(), messages.to_string()),
        ("MESSAGE_BLOCK_BYTES".to_owned(), bytes.to_string()),
    ])
}

async fn block_layout(app: &TestApp, chat_id: Uuid) -> Vec<(i32, i32)> {
    sqlx::query_as(
        "SELECT first_seq, message_count FROM message_blocks WHERE chat_id = $1 ORDER BY block_no",
    )
    .bind(chat_id)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Blocks of at most 3 messages or 40 bytes of text: the byte limit is crossed inside the
/// multi-line messages, which end their block whole. Every page size, from 1 to more than the
/// chat, reads the same messages in file order, with the same ids, across every boundary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boundaries_inside_multi_line_messages_and_across_pages() {
    let app = TestApp::spawn_with(small_blocks(3, 40)).await;
    let token = app.token("blocks-reader");
    let text = chat_text();
    let chat_id = app.upload_chat(&token, &text).await;

    let decoded = whatsapp::decode(text.as_bytes()).unwrap();
    let parsed = whatsapp::parse(&decoded);
    assert_eq!(parsed.messages.len(), 23);
    let layout = block_layout(&app, chat_id).await;
    assert!(layout.len() >= 8, "{layout:?}");
    let mut next = 0;
    for &(first, count) in &layout {
        assert_eq!(first, next, "blocks are consecutive: {layout:?}");
        assert!((1..=3).contains(&count));
        next += count;
    }
    assert_eq!(next, 23);
    // The multi-line messages 4 and 9 cross the 40-byte limit: each is its block's last.
    for multi in [4, 9] {
        assert!(
            layout.iter().any(|&(f, c)| f + c - 1 == multi),
            "message {multi} ends a block: {layout:?}"
        );
    }

    let reference = read_all(&app, &token, chat_id, 1000).await;
    assert_eq!(reference.len(), parsed.messages.len());
    for (got, expected) in reference.iter().zip(parsed.iter()) {
        assert_eq!(got["content"].as_str(), Some(expected.text));
        assert_eq!(got["sender"].as_str(), expected.author);
        assert_eq!(
            got["timestamp"].as_str().unwrap(),
            expected.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string()
        );
        assert_eq!(got["chat_id"].as_str(), Some(chat_id.to_string().as_str()));
    }
    assert_eq!(
        reference[4]["content"],
        "first line of four\nsecond line\n\nfourth line, after a blank one"
    );
    assert!(reference[7]["sender"].is_null(), "the system line");
    let ids: std::collections::HashSet<&str> = reference
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), reference.len(), "ids are distinct");
    for limit in 1..=24 {
        assert_eq!(
            read_all(&app, &token, chat_id, limit).await,
            reference,
            "page size {limit}"
        );
    }
    // Cursors keep their meaning: the position of the last message of the page.
    let page = json(
        app.get(
            &format!("/api/chats/{chat_id}/messages?limit=5&cursor=2"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(page["messages"][0], reference[3]);
    assert_eq!(page["next_cursor"], "7");
    let past_end = json(
        app.get(
            &format!("/api/chats/{chat_id}/messages?cursor=22"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(past_end["messages"], serde_json::json!([]));
    assert!(past_end["next_cursor"].is_null());
    app.stop().await;
}

/// A block whose bytes were altered, or a valid block moved under another row, is refused
/// with an error: no page ever shows text that is not the chat's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_block_is_an_error_never_wrong_text() {
    let app = TestApp::spawn_with(small_blocks(2, 1 << 20)).await;
    let token = app.token("tamper-victim");
    let text = chat_text();
    let chat_id = app.upload_chat(&token, &text).await;
    let first_page = format!("/api/chats/{chat_id}/messages?limit=2");
    let second_page = format!("/api/chats/{chat_id}/messages?limit=2&cursor=1");
    let before = json(app.get(&second_page, Some(&token)).await).await;
    assert_eq!(before["messages"][0]["content"], "message 2 😀");

    let assert_refused = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 500);
        let body = response.text().await.unwrap();
        for text in ["message 2", "message 3", "message 4", "😀", "first line"] {
            assert!(!body.contains(text), "no message text: {body}");
        }
        let body: Value = serde_json::from_str(&body).unwrap();
        // Development bodies carry the cause chain: it names the block and the reason.
        let cause = body["error"]["details"]["cause_chain"].to_string();
        assert!(cause.contains("message block 1 of chat"), "{cause}");
        cause
    };

    // One flipped byte in block 1 (messages 2 and 3).
    sqlx::query(
        "UPDATE message_blocks SET ciphertext = set_byte(ciphertext, 40, get_byte(ciphertext, 40) # 1) WHERE chat_id = $1 AND block_no = 1",
    )
    .bind(chat_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let cause = assert_refused(app.get(&second_page, Some(&token)).await).await;
    assert!(cause.contains("integrity check"), "{cause}");
    // Block 0 is untouched and still reads.
    let first = json(app.get(&first_page, Some(&token)).await).await;
    assert_eq!(first["messages"][1]["content"], "message 1 😀");

    // A valid block (block 2's bytes) put in block 1's row.
    sqlx::query(
        "UPDATE message_blocks SET ciphertext = (SELECT ciphertext FROM message_blocks WHERE chat_id = $1 AND block_no = 2) WHERE chat_id = $1 AND block_no = 1",
    )
    .bind(chat_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let cause = assert_refused(app.get(&second_page, Some(&token)).await).await;
    assert!(cause.contains("does not match its row"), "{cause}");

    // Another chat's valid block 1 (same key) in this chat's block 1.
    let other = app.upload_chat(&token, &text).await;
    sqlx::query(
        "UPDATE message_blocks SET ciphertext = (SELECT ciphertext FROM message_blocks WHERE chat_id = $2 AND block_no = 1) WHERE chat_id = $1 AND block_no = 1",
    )
    .bind(chat_id)
    .bind(other)
    .execute(&app.pool)
    .await
    .unwrap();
    let cause = assert_refused(app.get(&second_page, Some(&token)).await).await;
    assert!(cause.contains("belongs to another chat"), "{cause}");
    app.stop().await;
}

/// Postgres refuses the fourth block of an upload (a trigger, as a full disk or a dropped
/// connection would): the upload fails and leaves no chat row and no block; the next upload
/// on the same server works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_failing_halfway_leaves_nothing_behind() {
    let app = TestApp::spawn_with(small_blocks(2, 1 << 20)).await;
    let token = app.token("unlucky");
    sqlx::raw_sql(
        r#"CREATE FUNCTION refuse_block() RETURNS trigger AS $$
           BEGIN
               IF NEW.block_no = 3 THEN RAISE EXCEPTION 'disk full (test)'; END IF;
               RETURN NEW;
           END $$ LANGUAGE plpgsql;
           CREATE TRIGGER refuse_block BEFORE INSERT ON message_blocks
               FOR EACH ROW EXECUTE FUNCTION refuse_block();"#,
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = app
        .upload_file(&token, "chat.txt", chat_text().into_bytes())
        .await;
    assert_eq!(response.status(), 500);
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM chats), (SELECT COUNT(*) FROM message_blocks)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(counts, (0, 0));
    let listed = json(app.get("/api/chats", Some(&token)).await).await;
    assert_eq!(listed, serde_json::json!([]));

    sqlx::query("DROP TRIGGER refuse_block ON message_blocks")
        .execute(&app.pool)
        .await
        .unwrap();
    let chat_id = app.upload_chat(&token, &chat_text()).await;
    assert_eq!(read_all(&app, &token, chat_id, 1000).await.len(), 23);
    app.stop().await;
}

/// The key of the earlier Python service's test token (`crypto.rs`), so its token is one of
/// the old rows.
const PYTHON_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
const PYTHON_TOKEN: &str = "gAAAAABrB-ZibBffNGrE01XFZe68wCBPeCj-CVRZ6Re9LxrKM5reCQYk3hkATz-Yjzb7ucDVRJctWDbY90wc5RCDj6PJk6nwOqVvlqHPI_Q529LqGjfOIUI=";

async fn run_migrate(database: &TestDatabase, data_dir: &std::path::Path) -> String {
    let output = tokio::process::Command::new(relivchats_tests::relivchats_binary())
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ENVIRONMENT", "development")
        .env("DATABASE_URL", &database.url)
        .env("ENCRYPTION_KEY", PYTHON_KEY)
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "migrate failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A database at the schema before blocks, holding two chats in per-message rows (Fernet
/// tokens of this service and of the earlier Python one, an unencrypted legacy row, a sender
/// missing from the participant list, a system line). `relivchats migrate` converts them,
/// a second run finds nothing to do, and the API reads them back exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_layout_chat_reads_the_same_after_relivchats_migrate() {
    let database = TestDatabase::create().await;
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let before_blocks = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            relivchats::db::MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < 20261203000001)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    before_blocks.run(&pool).await.unwrap();

    let cipher = Cipher::new(PYTHON_KEY).unwrap();
    let user = "old-timer";
    sqlx::query("INSERT INTO users (user_id, credit_balance) VALUES ($1, 0)")
        .bind(user)
        .execute(&pool)
        .await
        .unwrap();
    let ts = |minute: u32| {
        chrono::NaiveDate::from_ymd_opt(2019, 3, 1)
            .unwrap()
            .and_hms_opt(9, minute, 0)
            .unwrap()
    };
    // (sender, stored content, what it reads as)
    let old: Vec<(Option<&str>, String, &str)> = vec![
        (
            Some("Asha"),
            cipher.encrypt("hi from the old layout"),
            "hi from the old layout",
        ),
        (Some("Ben"), PYTHON_TOKEN.to_owned(), "hello from python ✓"),
        (None, cipher.encrypt("Asha added Chen"), "Asha added Chen"),
        (Some("Chen"), cipher.encrypt("two\nlines"), "two\nlines"),
        (
            Some("Asha"),
            "stored before encryption".to_owned(),
            "stored before encryption",
        ),
    ];
    let mut chats = Vec::new();
    for copy in 0..2 {
        let chat_id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO chats (id, user_id, title, participants, chat_metadata, message_count, participant_count) VALUES ($1, $2, $3, $4, $5, 5, 2)",
        )
        .bind(chat_id)
        .bind(user)
        .bind(cipher.encrypt("Asha, Ben"))
        .bind(cipher.encrypt_json(&["Asha", "Ben"]))
        .bind(cipher.encrypt_json(&serde_json::json!({"total_messages": 5})))
        .execute(&pool)
        .await
        .unwrap();
        for (seq, (sender, content, _)) in old.iter().enumerate() {
            sqlx::query(
                "INSERT INTO messages (id, chat_id, seq, sender, content, timestamp) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Uuid::new_v4())
            .bind(chat_id)
            .bind(seq as i32)
            .bind(sender.map(|s| cipher.encrypt(s)))
            .bind(content)
            .bind(ts(seq as u32 + copy))
            .execute(&pool)
            .await
            .unwrap();
        }
        chats.push(chat_id);
    }
    pool.close().await;

    let data_dir = std::env::temp_dir().join(format!("relivchats-migrate-{}", Uuid::new_v4()));
    database.remove_on_drop(&data_dir);
    let first = run_migrate(&database, &data_dir).await;
    assert!(
        first.contains("2 chats, 10 messages"),
        "the first run converts both chats: {first}"
    );
    let again = run_migrate(&database, &data_dir).await;
    assert!(again.contains("0 chats, 0 messages"), "idempotent: {again}");

    let overrides = HashMap::from([("ENCRYPTION_KEY".to_owned(), PYTHON_KEY.to_owned())]);
    let app =
        TestApp::spawn_on_database(database, temporal_server::shared_address().await, overrides)
            .await;
    let left: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM chats WHERE legacy_messages)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(left, (0, 0), "no old rows or flags left");
    let token = app.token(user);
    for (copy, chat_id) in chats.iter().enumerate() {
        let messages = read_all(&app, &token, *chat_id, 2).await;
        assert_eq!(messages.len(), old.len());
        for (seq, (m, (sender, _, reads))) in messages.iter().zip(&old).enumerate() {
            assert_eq!(m["content"], *reads);
            assert_eq!(
                m["sender"].as_str(),
                *sender,
                "Chen resolves though not a participant"
            );
            assert_eq!(
                m["timestamp"].as_str().unwrap(),
                ts(seq as u32 + copy as u32)
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            );
        }
        let chat = json(
            app.get(&format!("/api/chats/{chat_id}"), Some(&token))
                .await,
        )
        .await;
        assert_eq!(chat["participants"], serde_json::json!(["Asha", "Ben"]));
        assert_eq!(chat["message_count"], 5);
    }
    app.stop().await;
}
