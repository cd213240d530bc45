//! One server under measure: a `relivchats serve` child process on its own database, and
//! its CPU time, PostgreSQL's and the bytes it stores.

use super::*;

pub(super) struct Server {
    name: &'static str,
    /// Which table holds the messages.
    table: &'static str,
    child: Child,
    port: u16,
    pool: PgPool,
    database: TestDatabase,
    token: String,
    http: reqwest::Client,
}

fn clock_ticks() -> f64 {
    // Linux's USER_HZ is 100 on every architecture we run on.
    100.0
}

/// utime + stime of a process, in seconds (0 if it is gone).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / clock_ticks()
}

async fn backend_pids(pool: &PgPool, database: &str) -> Vec<u32> {
    sqlx::query_scalar::<_, i32>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_all(pool)
    .await
    .unwrap_or_default()
    .into_iter()
    .map(|p| p as u32)
    .collect()
}

async fn pg_cpu(pool: &PgPool, database: &str) -> Vec<(u32, f64)> {
    backend_pids(pool, database)
        .await
        .into_iter()
        .map(|p| (p, cpu_seconds(p)))
        .collect()
}

fn pg_cpu_delta(before: &[(u32, f64)], after: &[(u32, f64)]) -> f64 {
    after
        .iter()
        .map(|(pid, t)| {
            let start = before
                .iter()
                .find(|(p, _)| p == pid)
                .map_or(0.0, |(_, t)| *t);
            t - start
        })
        .sum()
}

async fn sizes(pool: &PgPool, table: &str) -> (i64, i64) {
    sqlx::query_as(&format!(
        "SELECT pg_total_relation_size('{table}'), pg_database_size(current_database())"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

impl Server {
    pub(super) async fn start(
        name: &'static str,
        table: &'static str,
        binary: &Path,
        temporal: &str,
    ) -> Self {
        let database = TestDatabase::create().await;
        let port = temporal_server::free_port();
        let secret = Uuid::new_v4().simple().to_string();
        let data_dir = std::env::temp_dir().join(format!("relivchats-upload-{}", Uuid::new_v4()));
        database.remove_on_drop(&data_dir);
        let child = Command::new(binary)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ENVIRONMENT", "development")
            .env("DATABASE_URL", &database.url)
            .env("DATABASE_MAX_CONNECTIONS", "5")
            .env("TEMPORAL_ADDRESS", temporal)
            .env("TEMPORAL_TASK_QUEUE", format!("upload-bench-{name}"))
            .env("DATA_DIR", &data_dir)
            .env("DEV_AUTH_SECRET", &secret)
            .env("AUTH_MODE", "dev")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        wait_until(
            &format!("{name} is ready"),
            Duration::from_secs(120),
            async || {
                http.get(format!("http://127.0.0.1:{port}/health/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
        let pool = PgPool::connect(&database.url).await.unwrap();
        let token = mint_dev_token(
            &Secret::new(secret),
            &UserId::parse("upload-bench").unwrap(),
            None,
            Duration::from_secs(6 * 3600),
        )
        .unwrap();
        Self {
            name,
            table,
            child,
            port,
            pool,
            database,
            token,
            http,
        }
    }

    pub(super) async fn upload(&self, text: &str) -> (Duration, String) {
        let part = reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("chat.txt");
        let form = reqwest::multipart::Form::new().part("file", part);
        let start = Instant::now();
        let response = self
            .http
            .post(format!("http://127.0.0.1:{}/api/chats/upload", self.port))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.bytes().await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(
            status,
            200,
            "{} upload failed: {}",
            self.name,
            String::from_utf8_lossy(&body)
        );
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (elapsed, body["chat_id"].as_str().unwrap().to_owned())
    }

    /// Every message of a chat through `GET /messages`, pages of 1000 (what a reader pays).
    pub(super) async fn read_all(&self, chat_id: &str) -> (Duration, usize) {
        let start = Instant::now();
        let (mut cursor, mut count) = (None::<String>, 0);
        loop {
            let mut url = format!(
                "http://127.0.0.1:{}/api/chats/{chat_id}/messages?limit=1000",
                self.port
            );
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: serde_json::Value = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            count += page["messages"].as_array().map_or(0, Vec::len);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        (start.elapsed(), count)
    }

    pub(super) async fn measure(&self, size: &Size) -> Figures {
        self.upload(&size.text).await; // warm-up: pool connections, caches
        let pid = self.child.id().unwrap_or(0);
        let (table0, db0) = sizes(&self.pool, self.table).await;
        let pg0 = pg_cpu(&self.pool, &self.database.name).await;
        let ours0 = cpu_seconds(pid);
        let mut times = Vec::with_capacity(size.reps);
        let mut last_chat = String::new();
        for _ in 0..size.reps {
            let (t, chat) = self.upload(&size.text).await;
            times.push(t);
            last_chat = chat;
        }
        let ours = cpu_seconds(pid) - ours0;
        let pg = pg_cpu_delta(&pg0, &pg_cpu(&self.pool, &self.database.name).await);
        // Let autovacuum-free growth settle: sizes are read after the last commit.
        let (table1, db1) = sizes(&self.pool, self.table).await;
        let (read, read_count) = self.read_all(&last_chat).await;
        assert_eq!(
            read_count, size.messages,
            "{} reads back every message",
            self.name
        );
        times.sort();
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        Figures {
            p50: pct(0.5),
            p95: pct(0.95),
            ours_cpu: ours / size.reps as f64,
            pg_cpu: pg / size.reps as f64,
            table_bytes: (table1 - table0) / size.reps as i64,
            db_bytes: (db1 - db0) / size.reps as i64,
            read,
        }
    }

    pub(super) async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.pool.close().await;
        self.database.drop_now().await;
    }
}
