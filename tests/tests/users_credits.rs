//! Users, the signup bonus, credits, categories and packages, against the real app.

use futures::future::join_all;
use relivchats_domain::UserId;
use relivchats_tests::{TestApp, assert_error_shape, json};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_bonus_is_granted_once_under_concurrent_first_requests() {
    let app = TestApp::spawn().await;
    let token = app.token("racer");
    let responses = join_all((0..20).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            // Mix endpoints: any authenticated request provisions the user.
            let path = if i % 2 == 0 {
                "/api/credits/balance"
            } else {
                "/api/credits/transactions"
            };
            app.get(path, Some(token)).await.status()
        }
    }))
    .await;
    assert!(responses.iter().all(|s| *s == 200), "{responses:?}");

    let bonuses: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credit_transactions WHERE user_id = 'racer' AND type = 'signup_bonus'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(bonuses, 1);
    assert_eq!(app.balance_and_ledger("racer").await, (50, 50));

    let balance = json(app.get("/api/credits/balance", Some(&token)).await).await;
    assert_eq!(
        balance,
        json!({"user_id": "racer", "balance": 50, "held": 0, "available": 50})
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_store_trusts_only_the_token() {
    let app = TestApp::spawn().await;
    let token = app.token("user_store_1");

    let stored = app
        .http
        .post(app.url("/api/users/store"))
        .bearer_auth(&token)
        .json(&json!({"user_id": "user_store_1", "email": "a@example.com", "first_name": "A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 200);
    let body = json(stored).await;
    assert_eq!(body["user_id"], "user_store_1");
    assert_eq!(body["email"], "a@example.com");
    assert_eq!(body["credit_balance"], 50);
    assert!(body["created_at"].as_str().is_some());

    // Calling again (every sign-in) changes nothing and grants nothing.
    let again = app
        .http
        .post(app.url("/api/users/store"))
        .bearer_auth(&token)
        .json(&json!({"user_id": "user_store_1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(again).await["credit_balance"], 50);

    let spoof = app
        .http
        .post(app.url("/api/users/store"))
        .bearer_auth(&token)
        .json(&json!({"user_id": "someone_else"}))
        .send()
        .await
        .unwrap();
    assert_eq!(spoof.status(), 403);
    assert_error_shape(&json(spoof).await);
    let someone: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE user_id = 'someone_else'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(someone, 0);

    let missing_field = app
        .http
        .post(app.url("/api/users/store"))
        .bearer_auth(&token)
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_field.status(), 422);
    assert_error_shape(&json(missing_field).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_account_removes_the_users_data() {
    let app = TestApp::spawn().await;
    let token = app.token("leaver");
    assert_eq!(
        app.get("/api/credits/balance", Some(&token)).await.status(),
        200
    );
    // A chat row to be removed (the upload endpoint arrives with ingestion).
    sqlx::query("INSERT INTO chats (id, user_id) VALUES ($1, 'leaver')")
        .bind(uuid::Uuid::new_v4())
        .execute(&app.pool)
        .await
        .unwrap();

    let deleted = app
        .http
        .delete(app.url("/api/users/delete-account"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let body = json(deleted).await;
    assert_eq!(body["success"], true);
    assert_eq!(body["user_id"], "leaver");
    assert_eq!(body["chats_deleted"], 1);

    let chats: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chats WHERE user_id = 'leaver'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(chats, 0);
    // A deleted account is refused until it signs in again (users/store reactivates it) …
    let after = app.get("/api/credits/balance", Some(&token)).await;
    assert_eq!(after.status(), 401);
    assert!(
        json(after).await["detail"]
            .as_str()
            .unwrap()
            .contains("deleted")
    );
    let back = app
        .http
        .post(app.url("/api/users/store"))
        .bearer_auth(&token)
        .json(&json!({"user_id": "leaver"}))
        .send()
        .await
        .unwrap();
    // … and reactivation grants no second bonus: the ledger stays exact.
    assert_eq!(json(back).await["credit_balance"], 50);
    assert_eq!(app.balance_and_ledger("leaver").await, (50, 50));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_listing_and_admin_adjustments() {
    let app = TestApp::spawn().await;
    let token = app.token("ledger-user");
    let user = UserId::parse("ledger-user").unwrap();
    relivchats_api::ledger::admin_adjust(&app.pool, &user, 400, "test set-up")
        .await
        .unwrap();
    relivchats_api::ledger::admin_adjust(&app.pool, &user, -100, "goodwill reversed")
        .await
        .unwrap();
    let too_much = relivchats_api::ledger::admin_adjust(&app.pool, &user, -351, "too much").await;
    assert!(too_much.unwrap_err().to_string().contains("below zero"));
    assert_eq!(app.balance_and_ledger("ledger-user").await, (350, 350));

    let listing = json(app.get("/api/credits/transactions", Some(&token)).await).await;
    assert_eq!(listing["total_count"], 3);
    assert_eq!(listing["current_balance"], 350);
    let amounts: Vec<i64> = listing["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![-100, 400, 50], "newest first");
    assert_eq!(listing["transactions"][0]["type"], "admin_adjustment");
    assert_eq!(
        listing["transactions"][0]["description"],
        "goodwill reversed"
    );
    assert_eq!(listing["transactions"][2]["type"], "signup_bonus");

    let page = json(
        app.get("/api/credits/transactions?limit=1&offset=1", Some(&token))
            .await,
    )
    .await;
    assert_eq!(page["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(page["transactions"][0]["amount"], 400);

    for bad in ["limit=0", "limit=101", "offset=-1", "limit=abc"] {
        let response = app
            .get(&format!("/api/credits/transactions?{bad}"), Some(&token))
            .await;
        assert_eq!(response.status(), 422, "{bad}");
        assert_error_shape(&json(response).await);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_and_packages_are_seeded() {
    let app = TestApp::spawn().await;
    let categories = json(app.get("/api/categories", None).await).await;
    let slugs: Vec<&str> = categories
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["romantic", "friendship", "family", "workplace"]);
    for c in categories.as_array().unwrap() {
        assert_eq!(c["base_cost"], 400);
        assert_eq!(c["insights_count"], 6);
        assert_eq!(c["insight_types"].as_array().unwrap().len(), 6);
    }
    let romantic = &categories[0];
    assert_eq!(romantic["insight_types"][0]["name"], "conflict_resolution");
    assert_eq!(
        romantic["insight_types"][0]["id"],
        "a9d8e7f6-5c4b-3a2d-1e0f-9a8b7c6d5e4f"
    );

    let by_slug = json(app.get("/api/categories/workplace/insights", None).await).await;
    let by_id = json(
        app.get(
            &format!(
                "/api/categories/{}/insights",
                categories[3]["id"].as_str().unwrap()
            ),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(by_slug, by_id);
    assert_eq!(by_slug.as_array().unwrap().len(), 6);
    let missing = app.get("/api/categories/astrology/insights", None).await;
    assert_eq!(missing.status(), 404);
    assert_error_shape(&json(missing).await);

    let packages = json(app.get("/api/credits/packages", None).await).await;
    let summary: Vec<(i64, &str, &str)> = packages
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["coins"].as_i64().unwrap(),
                p["price_usd"].as_str().unwrap(),
                p["price_inr"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (400, "4.99", "399.00"),
            (850, "9.99", "799.00"),
            (1600, "17.99", "1499.00")
        ]
    );

    // Seeding again changes nothing (idempotent).
    let report = relivchats::seed::run(&app.pool).await.unwrap();
    assert_eq!(
        (report.categories, report.insight_types, report.packages),
        (4, 24, 3)
    );
    let again = json(app.get("/api/categories", None).await).await;
    assert_eq!(again, categories);
    app.stop().await;
}

const SVIX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn clerk_webhook(
    app: &TestApp,
    id: &str,
    ts: i64,
    signature: &str,
    body: &[u8],
) -> reqwest::Response {
    app.http
        .post(app.url("/api/webhooks/clerk"))
        .header("content-type", "application/json")
        .header("svix-id", id)
        .header("svix-timestamp", ts.to_string())
        .header("svix-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// Clerk's `user.deleted` (Svix-signed) deletes the user's data as account deletion does; a bad
/// or stale signature is a 400 that changes nothing, and a replay changes nothing either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_user_deleted_webhook_deletes_the_users_data_once() {
    use relivchats_domain::webhooks::svix_signature;
    let app =
        TestApp::spawn_with([("CLERK_WEBHOOK_SECRET".to_owned(), SVIX_SECRET.to_owned())].into())
            .await;
    let chat_text = "01/03/2024, 09:00 - Asha: Hi\n01/03/2024, 09:01 - Ben: Hey\n";
    let gone = app.token("user_2gone");
    let stays = app.token("user_2stays");
    app.upload_chat(&gone, chat_text).await;
    let kept_chat = app.upload_chat(&stays, chat_text).await;
    let chats = |user: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM chats WHERE user_id = $1")
                .bind(user)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let body = json!({"type": "user.deleted", "object": "event",
                      "data": {"object": "user", "id": "user_2gone", "deleted": true},
                      "timestamp": 1_735_689_600_000_i64, "instance_id": "ins_1"})
    .to_string();
    let now = chrono::Utc::now().timestamp();

    // Wrong secret, tampered body, stale timestamp: 400, nothing deleted.
    let wrong = svix_signature("whsec_b3RoZXIgc2VjcmV0", "msg_1", now, body.as_bytes());
    let good = svix_signature(SVIX_SECRET, "msg_1", now, body.as_bytes());
    let stale = svix_signature(SVIX_SECRET, "msg_1", now - 600, body.as_bytes());
    for (ts, sig, payload, expected) in [
        (now, wrong.as_str(), body.as_bytes(), "does not match"),
        (
            now,
            good.as_str(),
            br#"{"type":"user.deleted"}"#.as_slice(),
            "does not match",
        ),
        (now - 600, stale.as_str(), body.as_bytes(), "old"),
    ] {
        let response = clerk_webhook(&app, "msg_1", ts, sig, payload).await;
        assert_eq!(response.status(), 400);
        let detail = json(response).await;
        assert_error_shape(&detail);
        assert!(
            detail["detail"].as_str().unwrap().contains(expected),
            "{detail}"
        );
    }
    assert_eq!(chats("user_2gone").await, 1);

    let response = clerk_webhook(&app, "msg_1", now, &good, body.as_bytes()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["outcome"], "user_deleted");
    assert_eq!(chats("user_2gone").await, 0);
    assert_eq!(chats("user_2stays").await, 1);
    let deleted: bool =
        sqlx::query_scalar("SELECT is_deleted FROM users WHERE user_id = 'user_2gone'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(deleted);
    assert_eq!(
        app.get("/api/credits/balance", Some(&gone)).await.status(),
        401,
        "a deleted account's token is refused"
    );
    // The ledger is kept and still adds up.
    assert_eq!(app.balance_and_ledger("user_2gone").await, (50, 50));

    // The same delivery again (Svix redelivers with the same id): nothing more happens.
    let response = clerk_webhook(&app, "msg_1", now, &good, body.as_bytes()).await;
    assert_eq!(json(response).await["outcome"], "duplicate");
    let other = app
        .get(&format!("/api/chats/{kept_chat}"), Some(&stays))
        .await;
    assert_eq!(other.status(), 200);
    app.stop().await;
}
