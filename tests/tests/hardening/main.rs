//! The server against slow clients (slow-loris headers, stalled and dribbled bodies), and the
//! documented Docker stack against exposure: what a security review checks from the outside.

use std::{collections::HashMap, time::Duration};

use relivchats_tests::TestApp;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

mod compose;
mod limits;
mod platforms;
mod slow_clients;

async fn app_with_short_timeouts() -> TestApp {
    let overrides: HashMap<String, String> = [
        ("HTTP_HEADER_READ_TIMEOUT_SECS", "1"),
        ("HTTP_BODY_IDLE_TIMEOUT_SECS", "1"),
        ("HTTP_REQUEST_TIMEOUT_SECS", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    TestApp::spawn_with(overrides).await
}
