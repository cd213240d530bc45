//! Test support: the real application on a free port, a fresh Postgres database per test,
//! and a Temporal dev server (the one `scripts/test` started, else one of our own).

#![allow(unreachable_pub, dead_code)]

pub mod app_log;
mod checks;
mod database;
pub mod fake_llm;
pub mod fake_payments;
pub mod fakes;
pub mod temporal_server;

pub use checks::{assert_error_shape, json, wait_for, wait_until};
pub use database::{TestDatabase, admin_database_url};

use std::{collections::HashMap, sync::Arc, time::Duration};

use relivchats::{Application, Config, Role};
use relivchats_api::auth::{Secret, mint_dev_token};
use relivchats_domain::UserId;
use sqlx::PgPool;
use tokio::{sync::oneshot, task::JoinHandle};
use uuid::Uuid;

/// The variables every test application starts from: development, dev auth with `dev_secret`,
/// a free port, a fresh data directory and a task queue of its own.
pub fn base_vars(
    database: &TestDatabase,
    temporal_address: &str,
    dev_secret: &str,
) -> HashMap<String, String> {
    let data_dir = std::env::temp_dir().join(format!("relivchats-test-{}", Uuid::new_v4()));
    database.remove_on_drop(&data_dir);
    let mut vars: HashMap<String, String> = [
        ("ENVIRONMENT", "development"),
        ("DATABASE_URL", database.url.as_str()),
        ("DATABASE_MAX_CONNECTIONS", "5"),
        ("TEMPORAL_ADDRESS", temporal_address),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("DATA_DIR", data_dir.to_str().unwrap()),
        ("DEV_AUTH_SECRET", dev_secret),
        ("AUTH_MODE", "dev"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // Every test gets its own task queue, so workers of parallel tests never steal work.
    vars.insert(
        "TEMPORAL_TASK_QUEUE".into(),
        format!("test-{}", Uuid::new_v4().simple()),
    );
    vars
}

/// The application under test. Dropped without [`TestApp::stop`] (a failing test), it still
/// removes its database and data directory (see [`TestDatabase`]), after printing its log.
pub struct TestApp {
    /// Prints the app's log if the test fails. (First, so it is dropped first: the log ends
    /// before the clean-up below starts.)
    log: app_log::LogGuard,
    pub address: String,
    /// The separate metrics listener (`METRICS_BIND_ADDR`), when the test configured one.
    pub metrics_address: Option<String>,
    pub http: reqwest::Client,
    pub pool: PgPool,
    pub config: Config,
    pub temporal: temporalio_client::Client,
    /// The app's retrieval and model providers (the same the worker's activities use).
    pub providers: relivchats_activities::Providers,
    dev_secret: Secret,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    /// Last, so it is dropped last: removing the data directory must wait until the
    /// providers above have let go of the Edge shard (its drop flushes into that directory).
    pub database: TestDatabase,
}

impl TestApp {
    /// The app in dev-auth mode, API and worker together.
    pub async fn spawn() -> Self {
        Self::spawn_with(HashMap::new()).await
    }

    /// The app with some variables overridden (e.g. Clerk auth).
    pub async fn spawn_with(overrides: HashMap<String, String>) -> Self {
        let temporal_address = temporal_server::shared_address().await;
        Self::spawn_on(temporal_address, overrides).await
    }

    pub async fn spawn_on(temporal_address: String, overrides: HashMap<String, String>) -> Self {
        Self::spawn_on_database(TestDatabase::create().await, temporal_address, overrides).await
    }

    /// The app on a database the test prepared itself (e.g. one holding an older schema's rows).
    pub async fn spawn_on_database(
        database: TestDatabase,
        temporal_address: String,
        overrides: HashMap<String, String>,
    ) -> Self {
        let log = app_log::LogGuard::start(format!("database {}", database.name));
        let dev_secret = Uuid::new_v4().simple().to_string();
        let mut vars = base_vars(&database, &temporal_address, &dev_secret);
        vars.extend(overrides);
        let config = Config::from_map(&vars).expect("test configuration is valid");
        let app = Application::build(&config, Role::Serve)
            .await
            .expect("the application builds");
        let address = format!(
            "http://{}",
            app.local_addr().expect("the serve role listens")
        );
        let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
        let pool = app.pool().clone();
        let temporal = app.client().clone();
        let providers = app.providers().clone();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            address,
            metrics_address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            pool,
            config,
            temporal,
            database,
            providers,
            dev_secret: Secret::new(dev_secret),
            shutdown: Some(tx),
            server: Some(server),
            log,
        }
    }

    /// A valid dev token for `user`.
    pub fn token(&self, user: &str) -> String {
        mint_dev_token(
            &self.dev_secret,
            &UserId::parse(user).unwrap(),
            None,
            Duration::from_secs(600),
        )
        .unwrap()
    }

    pub fn dev_secret(&self) -> &Secret {
        &self.dev_secret
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send().await.unwrap()
    }

    /// Posts `bytes` as the upload's `file` part named `file_name`, and returns the response
    /// whatever it is.
    pub async fn upload_file(
        &self,
        token: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        self.http
            .post(self.url("/api/chats/upload"))
            .bearer_auth(token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap()
    }

    /// Uploads a chat export as `token`'s user and returns its id (asserting success).
    pub async fn upload_chat(&self, token: &str, text: &str) -> Uuid {
        let response = self
            .upload_file(token, "chat.txt", text.as_bytes().to_vec())
            .await;
        let status = response.status();
        let body = json(response).await;
        assert_eq!(status, 200, "upload failed: {body}");
        body["chat_id"].as_str().unwrap().parse().unwrap()
    }

    /// Adds `coins` to `user`'s balance with an operator adjustment (test set-up).
    pub async fn grant(&self, user: &str, coins: i32) {
        relivchats_api::ledger::admin_adjust(
            &self.pool,
            &UserId::parse(user).unwrap(),
            coins,
            "test set-up",
        )
        .await
        .unwrap();
    }

    /// The id of the seeded category named `slug` (`romantic`, `family`, …).
    pub async fn category_id(&self, slug: &str) -> Uuid {
        json(self.get("/api/categories", None).await)
            .await
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == slug)
            .map(|c| c["id"].as_str().unwrap().parse().unwrap())
            .unwrap_or_else(|| panic!("no category {slug}"))
    }

    /// Polls an unlock job's status endpoint until the job has ended (within a minute);
    /// returns the last status.
    pub async fn wait_for_job(&self, token: &str, job_id: &str) -> serde_json::Value {
        wait_for(
            &format!("job {job_id} has ended"),
            Duration::from_secs(60),
            async || {
                let status = json(
                    self.get(&format!("/api/insights/jobs/{job_id}/status"), Some(token))
                        .await,
                )
                .await;
                (!matches!(status["status"].as_str(), Some("queued" | "running"))).then_some(status)
            },
        )
        .await
    }

    /// `(balance, sum of the ledger)` for a user: they must always be equal.
    pub async fn balance_and_ledger(&self, user: &str) -> (i64, i64) {
        sqlx::query_as(
            r#"SELECT u.credit_balance::BIGINT,
                      COALESCE((SELECT SUM(amount) FROM credit_transactions t WHERE t.user_id = u.user_id), 0)::BIGINT
               FROM users u WHERE u.user_id = $1"#,
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// Stops the application and starts it again on the same database, data directory and
    /// configuration, as a process restart would.
    pub async fn restart(self) -> Self {
        let TestApp {
            http,
            pool,
            config,
            database,
            providers,
            dev_secret,
            shutdown,
            server,
            log,
            ..
        } = self;
        if let Some(tx) = shutdown {
            let _ = tx.send(());
        }
        if let Some(server) = server {
            server.await.unwrap().unwrap();
        }
        pool.close().await;
        // The last holder of the old Edge shard: a new process could not open it otherwise.
        drop(providers);
        let app = Application::build(&config, Role::Serve)
            .await
            .expect("the application builds again");
        let (tx, rx) = oneshot::channel();
        let address = format!(
            "http://{}",
            app.local_addr().expect("the serve role listens")
        );
        let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
        let (pool, temporal, providers) = (
            app.pool().clone(),
            app.client().clone(),
            app.providers().clone(),
        );
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            address,
            metrics_address,
            http,
            pool,
            config,
            temporal,
            database,
            providers,
            dev_secret,
            shutdown: Some(tx),
            server: Some(server),
            log,
        }
    }

    /// Stops the server and the worker, and drops the database and data directory. (Dropping
    /// the app without `stop`, as a failing test does, removes them too.)
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        self.pool.close().await;
        self.database.drop_now().await;
    }
}

/// A two-person chat of 96 messages over 12 days, with enough talk to index and analyse
/// (a plan, an apology and its repair, affection).
pub fn two_person_chat() -> String {
    let lines = [
        ("Asha", "Good morning! Did you sleep well? ❤️"),
        (
            "Ben",
            "Morning love, yes finally. Big deadline today though 😅",
        ),
        (
            "Asha",
            "You will crush it. Want to plan the trip to Goa this weekend?",
        ),
        ("Ben", "Yes!! Let's book the beach place we talked about"),
        (
            "Asha",
            "Sorry I snapped yesterday, I was stressed about work",
        ),
        ("Ben", "It's okay, I get it. Thanks for saying that 🙏"),
        ("Asha", "Dinner at 8? I'll cook your favourite"),
        ("Ben", "You're the best 😘 I'll bring dessert"),
    ];
    let mut out = String::new();
    for day in 1..=12 {
        for (i, (who, text)) in lines.iter().enumerate() {
            out.push_str(&format!(
                "{day:02}/03/2024, {:02}:{:02} - {who}: {text}\n",
                8 + i,
                (day * 7) % 60
            ));
        }
    }
    out
}

/// `target/<profile>/relivchats`, built by `cargo build --workspace --all-targets`
/// (scripts/test): the tests that run the real binary as a child process use it.
pub fn relivchats_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("relivchats");
    assert!(
        path.exists(),
        "{} is missing: build it first (scripts/test builds every target; a release bench needs `cargo build --release -p relivchats`)",
        path.display()
    );
    path
}

pub type Shared<T> = Arc<T>;
