//! Crashes: `relivchats serve` killed with SIGKILL mid-unlock, and the Temporal dev server
//! restarted mid-unlock (its database file kept). Both times the unlock finishes once and the
//! ledger stays exact. These run the real binary as a child process.

use std::{process::Stdio, time::Duration};

use relivchats_api::auth::{Secret, mint_dev_token};
use relivchats_domain::UserId;
use relivchats_tests::{
    TestDatabase, fake_llm::FakeLlm, json, temporal_server, wait_for, wait_until,
};
use sqlx::PgPool;
use tokio::process::{Child, Command};
use uuid::Uuid;

struct Server {
    env: Vec<(String, String)>,
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn new(database: &TestDatabase, temporal: &str, llm: &FakeLlm, secret: &str) -> Self {
        let data_dir = std::env::temp_dir().join(format!("relivchats-crash-{}", Uuid::new_v4()));
        database.remove_on_drop(&data_dir);
        let port = temporal_server::free_port();
        let mut env: Vec<(String, String)> = [
            ("ENVIRONMENT", "development"),
            ("DATABASE_URL", database.url.as_str()),
            ("DATABASE_MAX_CONNECTIONS", "5"),
            ("TEMPORAL_ADDRESS", temporal),
            ("DATA_DIR", data_dir.to_str().unwrap()),
            ("DEV_AUTH_SECRET", secret),
            ("AUTH_MODE", "dev"),
            ("INSIGHT_TIMEOUT_SECS", "6"),
            ("UNLOCK_REFUND_WINDOW_SECS", "1"),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "warn"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.push((
            "TEMPORAL_TASK_QUEUE".into(),
            format!("crash-{}", Uuid::new_v4().simple()),
        ));
        env.push(("BIND_ADDR".into(), format!("127.0.0.1:{port}")));
        env.extend(llm.app_vars());
        Self {
            env,
            port,
            child: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts `relivchats serve` and waits until it answers `/health/ready`.
    async fn start(&mut self) {
        let child = Command::new(relivchats_tests::relivchats_binary())
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("relivchats starts");
        self.child = Some(child);
        let http = reqwest::Client::new();
        wait_until(
            "relivchats serve is ready",
            Duration::from_secs(30),
            async || {
                http.get(self.url("/health/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            },
        )
        .await;
    }

    /// SIGKILL: no graceful shutdown, no flush, nothing.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }
}

struct Scenario {
    server: Server,
    pool: PgPool,
    database: TestDatabase,
    token: String,
    http: reqwest::Client,
    llm: FakeLlm,
}

impl Scenario {
    async fn new(temporal: &str) -> Self {
        let database = TestDatabase::create().await;
        let llm = FakeLlm::start().await;
        let secret = Uuid::new_v4().simple().to_string();
        let mut server = Server::new(&database, temporal, &llm, &secret);
        server.start().await;
        let pool = PgPool::connect(&database.url).await.unwrap();
        let token = mint_dev_token(
            &Secret::new(secret),
            &UserId::parse("crash-user").unwrap(),
            None,
            Duration::from_secs(600),
        )
        .unwrap();
        Self {
            server,
            pool,
            database,
            token,
            http: reqwest::Client::new(),
            llm,
        }
    }

    /// Uploads a chat, tops the user up to 450 coins and starts a romantic unlock.
    async fn start_unlock(&self) -> (Uuid, String) {
        let mut text = String::new();
        for day in 1..=9 {
            text.push_str(&format!(
                "{day:02}/04/2024, 09:00 - Asha: Morning! Plans for the weekend? ❤️\n"
            ));
            text.push_str(&format!(
                "{day:02}/04/2024, 09:05 - Ben: Let's go hiking, then dinner 😊\n"
            ));
        }
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(text.into_bytes()).file_name("chat.txt"),
        );
        let chat = self
            .http
            .post(self.server.url("/api/chats/upload"))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let chat: Uuid = json(chat).await["chat_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        relivchats_api::ledger::admin_adjust(
            &self.pool,
            &UserId::parse("crash-user").unwrap(),
            400,
            "test set-up",
        )
        .await
        .unwrap();
        let categories = json(
            self.http
                .get(self.server.url("/api/categories"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let romantic = categories[0]["id"].as_str().unwrap().to_owned();
        let started = self
            .http
            .post(self.server.url("/api/insights/unlock"))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({"chat_id": chat, "category_id": romantic}))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 200);
        (
            chat,
            json(started).await["job_id"].as_str().unwrap().to_owned(),
        )
    }

    /// Waits until the insights are being generated (the model has been called).
    async fn wait_until_generating(&self) {
        wait_until("the model is called", Duration::from_secs(15), async || {
            self.llm.calls() > 0
        })
        .await;
    }

    /// Waits (bounded) for the job to end, reading the database.
    async fn wait_for_job(&self, job_id: &str) -> (String, i32) {
        wait_for(
            &format!("job {job_id} has ended"),
            Duration::from_secs(120),
            async || {
                let row: (String, i32) = sqlx::query_as(
                    "SELECT status, coins_charged FROM insight_generation_jobs WHERE job_id = $1",
                )
                .bind(job_id)
                .fetch_one(&self.pool)
                .await
                .unwrap();
                (!matches!(row.0.as_str(), "queued" | "running")).then_some(row)
            },
        )
        .await
    }

    async fn assert_exact(&self) {
        let (balance, ledger, captures, held): (i64, i64, i64, i64) = sqlx::query_as(
            r#"SELECT (SELECT credit_balance FROM users WHERE user_id = 'crash-user')::BIGINT,
                      (SELECT COALESCE(SUM(amount), 0) FROM credit_transactions WHERE user_id = 'crash-user')::BIGINT,
                      (SELECT COUNT(*) FROM credit_transactions WHERE user_id = 'crash-user' AND type = 'insight_unlock'),
                      (SELECT COUNT(*) FROM coin_reservations WHERE user_id = 'crash-user' AND status = 'held')"#,
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        assert_eq!(balance, ledger, "balance == sum(ledger)");
        assert_eq!(
            (balance, captures, held),
            (50, 1, 0),
            "charged exactly once, nothing left held"
        );
    }

    async fn finish(mut self) {
        self.server.kill().await;
        self.pool.close().await;
        self.database.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_generation_then_restart_finishes_once() {
    let temporal = temporal_server::shared_address().await;
    let mut s = Scenario::new(&temporal).await;
    s.llm.delay(Duration::from_secs(2));
    let (_chat, job) = s.start_unlock().await;
    s.wait_until_generating().await;

    s.server.kill().await;
    // The model answers fast from now on; the new process picks the work up.
    s.llm.delay(Duration::ZERO);
    s.server.start().await;
    let (status, charged) = s.wait_for_job(&job).await;
    assert_eq!((status.as_str(), charged), ("completed", 400));
    s.assert_exact().await;
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_restart_mid_generation_finishes_once() {
    let db_file = std::env::temp_dir().join(format!("relivchats-temporal-{}.db", Uuid::new_v4()));
    let server = temporal_server::start_dev_server(Some(&db_file)).await;
    let mut s = Scenario::new(&server.address).await;
    s.llm.delay(Duration::from_secs(2));
    let (_chat, job) = s.start_unlock().await;
    s.wait_until_generating().await;

    // Stop the dev server, then start it again on the same port and database file.
    server.kill();
    let port: u16 = server.address.rsplit(':').next().unwrap().parse().unwrap();
    // (This wait could once fall through after ten seconds with the server still up.)
    wait_until(
        "the stopped Temporal dev server refuses connections",
        Duration::from_secs(10),
        async || {
            tokio::net::TcpStream::connect(&server.address)
                .await
                .is_err()
        },
    )
    .await;
    s.llm.delay(Duration::ZERO);
    let restarted = temporal_server::start_dev_server_on(port, Some(&db_file)).await;
    let (status, charged) = s.wait_for_job(&job).await;
    assert_eq!((status.as_str(), charged), ("completed", 400));
    s.assert_exact().await;
    s.server.kill().await;
    restarted.kill();
    s.finish().await;
    let _ = std::fs::remove_file(db_file);
}
