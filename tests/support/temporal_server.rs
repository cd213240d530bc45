//! A Temporal dev server for the tests.
//!
//! `scripts/test` (and so CI) starts one and exports `TEMPORAL_ADDRESS`; every test binary
//! then shares it, each test on its own task queue. Run without it (`cargo test` alone), the
//! first test of a binary starts an in-memory dev server on a free port, with a watchdog that
//! stops it when the test process exits.

use std::{net::TcpListener, path::PathBuf, process::Stdio, time::Duration};

use relivchats_domain::contracts::search_attributes::CUSTOM_SEARCH_ATTRIBUTES;
use tokio::sync::OnceCell;

static SHARED: OnceCell<String> = OnceCell::const_new();

/// The `temporal` CLI: `TEMPORAL_CLI`, else the project's `.venv`, else `PATH`.
pub fn temporal_cli() -> PathBuf {
    if let Ok(p) = std::env::var("TEMPORAL_CLI") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/temporal");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("temporal")
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The address of the shared dev server.
pub async fn shared_address() -> String {
    SHARED
        .get_or_init(|| async {
            match std::env::var("TEMPORAL_ADDRESS") {
                Ok(addr) if !addr.is_empty() => addr,
                _ => start_dev_server(None).await.address,
            }
        })
        .await
        .clone()
}

/// A dev server this process started.
pub struct DevServer {
    pub address: String,
    pub pid: u32,
}

impl DevServer {
    /// Stops the server (SIGTERM), e.g. to test what happens when Temporal goes away.
    pub fn kill(&self) {
        let _ = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .status();
    }
}

/// Starts `temporal server start-dev` on a free port and waits until it serves. A shell
/// watchdog kills it once this test process is gone (no unsafe `prctl` needed).
pub async fn start_dev_server(db_file: Option<&std::path::Path>) -> DevServer {
    start_dev_server_on(free_port(), db_file).await
}

/// Like [`start_dev_server`], on a given port (to restart a server where it was).
pub async fn start_dev_server_on(port: u16, db_file: Option<&std::path::Path>) -> DevServer {
    let cli = temporal_cli();
    let mut args = vec![
        "server".to_owned(),
        "start-dev".into(),
        "--headless".into(),
        "--ip".into(),
        "127.0.0.1".into(),
        "--port".into(),
        port.to_string(),
        "--http-port".into(),
        free_port().to_string(),
        "--metrics-port".into(),
        free_port().to_string(),
        "--log-level".into(),
        "error".into(),
        // One partition per task queue, as scripts/lib.sh starts the tests' server: the model
        // queue's rate limit is one token bucket then (tests/tests/unlock.rs measures it). A
        // test's database file is its own, so the setting never changes under kept tasks.
        "--dynamic-config-value".into(),
        "matching.numTaskqueueReadPartitions=1".into(),
        "--dynamic-config-value".into(),
        "matching.numTaskqueueWritePartitions=1".into(),
    ];
    if let Some(db) = db_file {
        args.push("--db-filename".into());
        args.push(db.display().to_string());
    }
    for (name, kind) in CUSTOM_SEARCH_ATTRIBUTES {
        args.push("--search-attribute".into());
        args.push(format!("{name}={kind}"));
    }
    let quoted: Vec<String> = std::iter::once(cli.display().to_string())
        .chain(args)
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let script = format!(
        "{} >/dev/null 2>&1 & server=$!; echo $server; \
         while kill -0 {parent} 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 1; done; \
         kill $server 2>/dev/null",
        quoted.join(" "),
        parent = std::process::id()
    );
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("sh is available");
    let mut stdout = child.stdout.take().unwrap();
    let mut pid = String::new();
    {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 32];
        let n = stdout.read(&mut buf).await.unwrap();
        pid.push_str(std::str::from_utf8(&buf[..n]).unwrap().trim());
    }
    // The watchdog shell lives on detached; it ends with the server or with us.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    let address = format!("127.0.0.1:{port}");
    // The port opens slightly before the frontend serves; the client retries anyway.
    crate::wait_until(
        &format!(
            "the Temporal dev server ({}) listens on {address}",
            cli.display()
        ),
        Duration::from_secs(30),
        async || tokio::net::TcpStream::connect(&address).await.is_ok(),
    )
    .await;
    DevServer {
        address,
        pid: pid.parse().expect("the shell printed the server pid"),
    }
}
