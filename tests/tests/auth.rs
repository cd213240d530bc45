//! Authentication: dev tokens, and Clerk RS256 tokens against a local JWKS server.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use axum::{Json, Router, extract::State, http::HeaderMap, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use relivchats_tests::{TestApp, assert_error_shape, json};
use serde_json::{Value, json};

const ISSUER: &str = "https://clerk.relivchats.test";
const SITE: &str = "https://app.relivchats.test";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn assert_401(app: &TestApp, token: &str, expected: &str) {
    let response = app.get("/api/credits/balance", Some(token)).await;
    assert_eq!(response.status(), 401, "expected 401 for {expected}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body = json(response).await;
    assert_error_shape(&body);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(expected),
        "detail {detail:?} should mention {expected:?}"
    );
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_tokens() {
    let app = TestApp::spawn().await;
    let secret = app.dev_secret().expose().to_owned();

    let valid = app.token("dev-alice");
    let response = app.get("/api/credits/balance", Some(&valid)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["user_id"], "dev-alice");

    // The __session cookie works like the header.
    let by_cookie = app
        .http
        .get(app.url("/api/credits/balance"))
        .header("cookie", format!("__session={valid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);

    let missing = app.get("/api/credits/balance", None).await;
    assert_eq!(missing.status(), 401);
    assert!(
        json(missing).await["detail"]
            .as_str()
            .unwrap()
            .contains("Authentication required")
    );

    let basic = app
        .http
        .get(app.url("/api/credits/balance"))
        .header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    let claims = |exp: i64| json!({"sub": "dev-bob", "iss": "relivchats-dev", "iat": now() - 7200, "exp": exp});
    assert_401(&app, &hs256(&secret, &claims(now() - 3600)), "expired").await;
    assert_401(
        &app,
        &hs256("not-the-secret", &claims(now() + 3600)),
        "signature",
    )
    .await;
    assert_401(&app, "not.a.jwt", "malformed").await;

    // `alg: none` with no signature.
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(claims(now() + 3600).to_string().as_bytes());
    assert_401(&app, &format!("{header}.{payload}."), "not accepted").await;

    // A token whose sub is not a usable id.
    let bad_sub = hs256(
        &secret,
        &json!({"sub": "has space", "iss": "relivchats-dev", "iat": now(), "exp": now() + 60}),
    );
    assert_401(&app, &bad_sub, "valid user").await;

    // Nothing was provisioned for the rejected tokens.
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 1, "only dev-alice exists");

    app.stop().await;
}

/// A fake Clerk: serves the JWKS it is told to, counts fetches, and records the auth header.
/// `down` makes it answer 503 after a second, as an overloaded Clerk would.
#[derive(Clone, Default)]
struct FakeClerk {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    last_authorization: Arc<Mutex<Option<String>>>,
    down: Arc<AtomicBool>,
}

async fn jwks(State(clerk): State<FakeClerk>, headers: HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    clerk.fetches.fetch_add(1, Ordering::SeqCst);
    *clerk.last_authorization.lock().unwrap() = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    if clerk.down.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(json!({"keys": clerk.keys.lock().unwrap().clone()})).into_response()
}

async fn start_fake_clerk(clerk: FakeClerk) -> String {
    let router = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/jwks", get(jwks))
        .with_state(clerk);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn jwk(n: u8) -> Value {
    serde_json::from_str(&fixture(&format!("clerk_jwk_{n}.json"))).unwrap()
}

fn rs256(key: u8, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key =
        EncodingKey::from_rsa_pem(fixture(&format!("clerk_key_{key}.pem")).as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn clerk_claims(sub: &str) -> Value {
    json!({
        "sub": sub, "iss": ISSUER, "azp": SITE, "sid": "sess_1", "v": 2,
        "iat": now() - 5, "nbf": now() - 5, "exp": now() + 60,
    })
}

/// A fake Clerk serving key 1, and the app signed in through it with `extra` settings.
async fn app_with_clerk(extra: &[(&str, String)]) -> (FakeClerk, TestApp) {
    let clerk = FakeClerk::default();
    clerk.keys.lock().unwrap().push(jwk(1));
    let base = start_fake_clerk(clerk.clone()).await;
    let mut overrides: HashMap<String, String> = HashMap::from([
        ("AUTH_MODE".to_owned(), "clerk".to_owned()),
        (
            "CLERK_JWKS_URL".to_owned(),
            format!("{base}/.well-known/jwks.json"),
        ),
    ]);
    for (key, value) in extra {
        overrides.insert((*key).to_owned(), value.replace("{base}", &base));
    }
    (clerk, TestApp::spawn_with(overrides).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_tokens() {
    let (clerk, app) = app_with_clerk(&[
        ("CLERK_ISSUER", ISSUER.to_owned()),
        (
            "CLERK_AUTHORIZED_PARTIES",
            format!("{SITE},http://localhost:3000"),
        ),
    ])
    .await;

    // A valid session token: 200, the user is provisioned with the bonus.
    let valid = rs256(1, "ins_test_key_1", &clerk_claims("user_2clerkA"));
    let response = app.get("/api/credits/balance", Some(&valid)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["balance"], 50);
    assert_eq!(clerk.fetches.load(Ordering::SeqCst), 1);

    // Cached: a second request fetches nothing.
    assert_eq!(
        app.get("/api/credits/balance", Some(&valid)).await.status(),
        200
    );
    assert_eq!(clerk.fetches.load(Ordering::SeqCst), 1);

    // Key rotation: a token signed by a new key makes exactly one refetch, then succeeds.
    clerk.keys.lock().unwrap().push(jwk(2));
    let rotated = rs256(2, "ins_test_key_2", &clerk_claims("user_2clerkB"));
    assert_eq!(
        app.get("/api/credits/balance", Some(&rotated))
            .await
            .status(),
        200
    );
    assert_eq!(
        clerk.fetches.load(Ordering::SeqCst),
        2,
        "one refetch for the unknown kid"
    );

    // A kid nobody serves: 401, and no further refetch (cool-down after the last one).
    let forged_kid = rs256(1, "ins_nobody", &clerk_claims("user_2clerkC"));
    assert_401(&app, &forged_kid, "signing key").await;
    assert_eq!(clerk.fetches.load(Ordering::SeqCst), 2);

    // Algorithm confusion: an HS256 token "signed" with the public key material is refused.
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ins_test_key_1".to_owned());
        let public = jwk(1)["n"].as_str().unwrap().to_owned();
        jsonwebtoken::encode(
            &header,
            &clerk_claims("user_2clerkA"),
            &EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap()
    };
    assert_401(&app, &confused, "not accepted").await;

    // A dev token presented to a Clerk-mode server.
    let dev = hs256(
        "whatever",
        &json!({"sub": "x", "iss": "relivchats-dev", "iat": now(), "exp": now() + 60}),
    );
    assert_401(&app, &dev, "not accepted").await;

    let mut claims = clerk_claims("user_2clerkA");
    claims["azp"] = json!("https://evil.example");
    assert_401(&app, &rs256(1, "ins_test_key_1", &claims), "another site").await;

    let mut claims = clerk_claims("user_2clerkA");
    claims["iss"] = json!("https://clerk.someone-else.dev");
    assert_401(&app, &rs256(1, "ins_test_key_1", &claims), "issuer").await;

    let mut claims = clerk_claims("user_2clerkA");
    claims["exp"] = json!(now() - 30);
    assert_401(&app, &rs256(1, "ins_test_key_1", &claims), "expired").await;

    // Within the 5 s leeway an expired-by-2s token still passes.
    let mut claims = clerk_claims("user_2clerkA");
    claims["exp"] = json!(now() - 2);
    assert_eq!(
        app.get(
            "/api/credits/balance",
            Some(&rs256(1, "ins_test_key_1", &claims))
        )
        .await
        .status(),
        200
    );

    let mut claims = clerk_claims("user_2clerkA");
    claims["nbf"] = json!(now() + 120);
    assert_401(&app, &rs256(1, "ins_test_key_1", &claims), "not valid yet").await;

    // Signed by key 2 but claiming key 1's kid: the signature does not verify.
    assert_401(
        &app,
        &rs256(2, "ins_test_key_1", &clerk_claims("user_2clerkA")),
        "signature",
    )
    .await;

    app.stop().await;
}

/// Clerk unreachable after the cache expired: the cached keys keep signing people in, the
/// requests that arrive together share one refetch instead of queueing behind one each, and
/// with allowed parties configured a token without `azp` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_outage_serves_the_cached_keys() {
    let (clerk, app) = app_with_clerk(&[
        ("CLERK_JWKS_TTL_SECS", "1".to_owned()),
        ("CLERK_ISSUER", ISSUER.to_owned()),
        ("CLERK_AUTHORIZED_PARTIES", SITE.to_owned()),
    ])
    .await;
    let valid = rs256(1, "ins_test_key_1", &clerk_claims("user_2outage"));
    assert_eq!(
        app.get("/api/credits/balance", Some(&valid)).await.status(),
        200
    );
    assert_eq!(clerk.fetches.load(Ordering::SeqCst), 1);

    clerk.down.store(true, Ordering::SeqCst);
    // Let the one-second cache expire.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let burst =
        futures::future::join_all((0..20).map(|_| app.get("/api/credits/balance", Some(&valid))))
            .await;
    for response in burst {
        assert_eq!(
            response.status(),
            200,
            "a cached key must still be accepted"
        );
    }
    assert_eq!(
        clerk.fetches.load(Ordering::SeqCst),
        2,
        "twenty waiting requests share one failed refetch"
    );
    // Right after the failure, no new attempt: the stale keys are used at once.
    assert_eq!(
        app.get("/api/credits/balance", Some(&valid)).await.status(),
        200
    );
    assert_eq!(clerk.fetches.load(Ordering::SeqCst), 2);

    let mut claims = clerk_claims("user_2outage");
    claims.as_object_mut().unwrap().remove("azp");
    assert_401(&app, &rs256(1, "ins_test_key_1", &claims), "which site").await;
    app.stop().await;
}

/// The Backend API's `/v1/jwks` is fetched with `CLERK_SECRET_KEY` as a bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_backend_jwks_sends_the_secret_key() {
    let (clerk, app) = app_with_clerk(&[
        ("CLERK_JWKS_URL", "{base}/v1/jwks".to_owned()),
        ("CLERK_SECRET_KEY", "sk_test_123".to_owned()),
        ("CLERK_API_BASE", "{base}".to_owned()),
    ])
    .await;
    // No issuer or parties configured: only the signature and times are checked.
    let token = rs256(1, "ins_test_key_1", &clerk_claims("user_2backend"));
    assert_eq!(
        app.get("/api/credits/balance", Some(&token)).await.status(),
        200
    );
    assert_eq!(
        clerk.last_authorization.lock().unwrap().as_deref(),
        Some("Bearer sk_test_123")
    );
    app.stop().await;
}
