//! Building and running the application: `serve` (API + worker), `api`, or `worker`.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use relivchats_api::{AppState, DependencyCheck, auth::Authenticator};
use temporalio_client::Client;
use tokio::net::TcpListener;

use crate::{
    config::{Config, Environment},
    db, seed,
    temporal::{self, TemporalCheck},
    worker::WorkerThread,
};

/// Which halves run in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API and worker together (the local default).
    Serve,
    Api,
}

/// A built application: listening, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    worker: Option<WorkerThread>,
    client: Client,
    pool: sqlx::PgPool,
    providers: relivchats_activities::Providers,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

/// Connects Postgres (applying migrations and seed in development) and Temporal.
pub async fn prepare(config: &Config) -> anyhow::Result<(sqlx::PgPool, Client)> {
    let dev = config.environment == Environment::Development;
    let pool = db::connect(
        config.database_url.expose(),
        config.database_max_connections,
        dev,
    )
    .await?;
    if dev {
        db::migrate(&pool).await?;
        // Development databases convert old message rows on start; production runs
        // `relivchats migrate` (the same code) before starting this version.
        let cipher = relivchats_domain::crypto::Cipher::new(config.encryption_key.expose())
            .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY: {e}"))?;
        crate::legacy_messages::convert(&pool, &cipher, config.message_blocks).await?;
        let report = seed::run(&pool).await?;
        tracing::info!(?report, "migrations and seed applied (development)");
    }
    let client = temporal::connect(&config.temporal, Duration::from_secs(30)).await?;
    let added = temporal::ensure_search_attributes(&client, &config.temporal.namespace).await?;
    if !added.is_empty() {
        tracing::info!(?added, "registered custom search attributes");
    }
    Ok((pool, client))
}

impl Application {
    /// Binds the listener (port 0 picks a free one) and starts the worker when `role` asks.
    pub async fn build(config: &Config, role: Role) -> anyhow::Result<Self> {
        let (pool, client) = prepare(config).await?;
        let providers = crate::providers::build_for(config, role == Role::Serve).await?;
        let worker = match role {
            Role::Serve => Some(WorkerThread::spawn(
                config,
                client.clone(),
                providers.clone(),
            )?),
            Role::Api => None,
        };
        let dependencies: Vec<Arc<dyn DependencyCheck>> = vec![
            Arc::new(TemporalCheck {
                client: client.clone(),
            }),
            Arc::new(crate::providers::VectorStoreCheck(providers.store.clone())),
        ];
        let state = AppState::new(
            pool.clone(),
            Authenticator::new(&config.auth)?,
            relivchats_domain::crypto::Cipher::new(config.encryption_key.expose())
                .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY: {e}"))?,
            client.clone(),
            &config.temporal.task_queue,
            config.api_settings(),
            dependencies,
        )?
        .with_retrieval(relivchats_api::Retrieval {
            embedder: providers.embedder.clone(),
            store: providers.store.clone(),
            top_k: config.providers.rag_top_k,
        })
        .with_payments(config.payments.providers()?);
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))?;
        Ok(Self {
            listener,
            router: relivchats_api::router(state),
            header_read_timeout: config.http_timeouts.header_read,
            worker,
            client,
            pool,
            providers,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// The process's providers (the same ones the worker's activities use).
    pub fn providers(&self) -> &relivchats_activities::Providers {
        &self.providers
    }

    /// Serves until `shutdown` resolves, then stops the worker gracefully.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let served = serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            shutdown,
        )
        .await;
        if let Some(worker) = self.worker {
            tokio::task::spawn_blocking(move || worker.stop()).await??;
        }
        served.context("the HTTP server failed")
    }
}

/// How long open connections get to finish their requests after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown`, then drains open connections.
///
/// This is `axum::serve` with one addition it lacks: a header-read timeout, so a client that
/// opens a connection and dribbles its headers (slow-loris) is disconnected instead of holding
/// a task for ever. Body and whole-request timeouts are layers of the router
/// (`relivchats_api::middleware::timeouts`).
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto::Builder, graceful::GracefulShutdown},
        service::TowerToHyperService,
    };
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The peer address, for rate limits of anonymous requests (as axum's ConnectInfo).
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            router.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain period");
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing in-flight requests and activities");
}
