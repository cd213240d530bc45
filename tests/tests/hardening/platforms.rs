//! Telegram and Messenger exports upload like WhatsApp ones.

use super::*;

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
