//! Rate limits: the hourly upload bound in the database, and 429s on the expensive routes
//! that lose nothing.

use super::*;

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
