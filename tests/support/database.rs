//! A fresh database per test, dropped with the test, also when it fails.

use std::{
    path::PathBuf,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The server tests create their databases on.
pub fn admin_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, empty database, dropped when it is dropped, also when the test fails (panics)
/// before its clean-up (`stop`, [`TestDatabase::drop_now`]); the data directories of the apps
/// that use it are removed too when the test fails.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    dropped: AtomicBool,
    data_dirs: Mutex<Vec<PathBuf>>,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin = admin_database_url();
        let name = format!("relivchats_test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("Postgres must be running for the integration tests");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        Self {
            name,
            url: url.to_string(),
            dropped: AtomicBool::new(false),
            data_dirs: Mutex::new(Vec::new()),
        }
    }

    /// Removes `dir` (recursively) when the database is dropped.
    pub fn remove_on_drop(&self, dir: impl Into<PathBuf>) {
        self.data_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(dir.into());
    }

    pub async fn drop_now(&self) {
        if self.dropped.swap(true, Ordering::SeqCst) {
            return;
        }
        drop_database(&self.name).await;
    }
}

async fn drop_database(name: &str) {
    if let Ok(mut conn) = PgConnection::connect(&admin_database_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.dropped.swap(true, Ordering::SeqCst) {
            // Drop cannot await, and may run inside the test's runtime: a thread of its own
            // with a runtime of its own drops the database. Errors are ignored (a panic here,
            // during a failing test's unwinding, would abort the whole test binary).
            let name = self.name.clone();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_database(&name));
                }
            })
            .join();
        }
        // The data directories go only with a failing test: on the success path something
        // may still hold the Edge shard (e.g. a test's own activities, dropped after `stop`),
        // and the shard's drop flushes into its directory.
        if !std::thread::panicking() {
            return;
        }
        for dir in self
            .data_dirs
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
