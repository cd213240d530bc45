//! Building and running the application: one builder for the three roles, `serve` (API +
//! worker), `api` and `worker`.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use futures::FutureExt;
use relivchats_api::{
    AppState, DependencyCheck,
    auth::Authenticator,
    metrics::{self as endpoint, MetricsEndpoint},
};
use relivchats_metrics::Metrics;
use temporalio_client::Client;
use tokio::net::TcpListener;

use crate::{
    config::{Config, Environment, MetricsListener},
    db, seed,
    temporal::{self, TemporalCheck},
    worker::WorkerThread,
};

/// Which parts run in this process: one builder for the three deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API and worker together (the local default).
    Serve,
    /// The HTTP API alone.
    Api,
    /// The Temporal worker alone, with `/metrics` on its own listener (`METRICS_BIND_ADDR`,
    /// else [`crate::config::DEFAULT_METRICS_ADDR`]).
    Worker,
}

impl Role {
    fn runs_worker(self) -> bool {
        matches!(self, Self::Serve | Self::Worker)
    }
}

/// A built application: listening, not yet serving.
pub struct Application {
    /// The public API (`None` for [`Role::Worker`]).
    http: Option<HttpServer>,
    worker: Option<WorkerThread>,
    client: Client,
    pool: sqlx::PgPool,
    providers: relivchats_activities::Providers,
    metrics: Arc<Metrics>,
    /// `/metrics` on a listener of its own (`METRICS_BIND_ADDR`), if configured.
    metrics_server: Option<HttpServer>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.local_addr())
            .field("metrics_addr", &self.metrics_addr())
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
        crate::legacy_messages::convert(&pool, &cipher(config)?, config.message_blocks).await?;
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

/// The message cipher from `ENCRYPTION_KEY`.
pub fn cipher(config: &Config) -> anyhow::Result<relivchats_domain::crypto::Cipher> {
    relivchats_domain::crypto::Cipher::new(config.encryption_key.expose())
        .map_err(|e| anyhow::anyhow!("ENCRYPTION_KEY: {e}"))
}

impl Application {
    /// Connects, starts the worker when `role` runs one, and binds the listeners the role
    /// serves (port 0 picks a free one).
    pub async fn build(config: &Config, role: Role) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        let (pool, client) = prepare(config).await?;
        if role == Role::Worker
            && config.providers.vector_store == crate::providers::VectorStoreKind::Edge
        {
            tracing::warn!(
                "VECTOR_STORE=edge: this worker holds the vectors in-process; a separate `relivchats api` cannot reach them (use VECTOR_STORE=qdrant for split deployments)"
            );
        }
        // The worker thread opens a pool of its own; this one serves the API (in a worker-only
        // process it served only the migrations above, and sits idle).
        if role != Role::Worker {
            db::watch(&metrics, "api", &pool);
        }
        let providers = crate::providers::build_for(config, role.runs_worker(), &metrics).await?;
        let http = match role {
            Role::Serve | Role::Api => {
                Some(Self::api(config, &pool, &client, &providers, &metrics).await?)
            }
            Role::Worker => None,
        };
        let metrics_addr = match role {
            Role::Serve | Role::Api => config.metrics.separate_addr(),
            Role::Worker => config.metrics.worker_addr(),
        };
        let metrics_server = match metrics_addr {
            Some(addr) => Some(metrics_listener(addr, &metrics, config).await?),
            None => None,
        };
        let worker = if role.runs_worker() {
            Some(WorkerThread::spawn(
                config,
                client.clone(),
                providers.clone(),
                metrics.clone(),
            )?)
        } else {
            None
        };
        Ok(Self {
            http,
            worker,
            client,
            pool,
            providers,
            metrics,
            metrics_server,
        })
    }

    /// The public API's router on its listener.
    async fn api(
        config: &Config,
        pool: &sqlx::PgPool,
        client: &Client,
        providers: &relivchats_activities::Providers,
        metrics: &Arc<Metrics>,
    ) -> anyhow::Result<HttpServer> {
        let dependencies: Vec<Arc<dyn DependencyCheck>> = vec![
            Arc::new(TemporalCheck {
                client: client.clone(),
            }),
            Arc::new(crate::providers::VectorStoreCheck(providers.store.clone())),
        ];
        let state = AppState::new(
            pool.clone(),
            Authenticator::new(&config.auth)?,
            cipher(config)?,
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
        .with_payments(config.payments.providers()?)
        .with_metrics(metrics.clone());
        if config.metrics.listener == MetricsListener::Api
            && config.environment == Environment::Production
            && config.metrics.token.is_none()
        {
            tracing::warn!(
                "METRICS_BIND_ADDR=api without METRICS_TOKEN: anyone who reaches the API can read /metrics"
            );
        }
        HttpServer::bind(config.bind_addr, relivchats_api::router(state), config)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind_addr))
    }

    /// Where the public API listens (`None` for [`Role::Worker`]).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(HttpServer::local_addr)
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

    /// The process's metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Where the separate metrics listener listens, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(HttpServer::local_addr)
    }

    /// Serves until `shutdown` resolves, then drains the listeners and lets running
    /// activities finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let shutdown = shutdown.shared();
        let metrics = self
            .metrics_server
            .map(|server| tokio::spawn(server.serve(shutdown.clone())));
        let served = match self.http {
            Some(http) => http.serve(shutdown).await,
            None => {
                shutdown.await;
                Ok(())
            }
        };
        if let Some(worker) = self.worker {
            tokio::task::spawn_blocking(move || worker.stop()).await??;
        }
        if let Some(metrics) = metrics {
            metrics.await?.context("the metrics listener failed")?;
        }
        served.context("the HTTP server failed")
    }
}

/// `GET /metrics` alone on an internal listener, so the public API never serves it.
async fn metrics_listener(
    addr: SocketAddr,
    metrics: &Arc<Metrics>,
    config: &Config,
) -> anyhow::Result<HttpServer> {
    let router = endpoint::router(MetricsEndpoint {
        metrics: metrics.clone(),
        token: config.metrics.token.clone().map(Arc::new),
    });
    HttpServer::bind(addr, router, config)
        .await
        .with_context(|| format!("cannot listen on METRICS_BIND_ADDR {addr}"))
}

/// A router on its bound listener.
struct HttpServer {
    listener: TcpListener,
    router: axum::Router,
    header_read_timeout: Duration,
}

impl HttpServer {
    async fn bind(
        addr: SocketAddr,
        router: axum::Router,
        config: &Config,
    ) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            router,
            header_read_timeout: config.http_timeouts.header_read,
        })
    }

    fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve(
            self.listener,
            self.router,
            self.header_read_timeout,
            shutdown,
        )
        .await
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
