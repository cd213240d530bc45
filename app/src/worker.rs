//! The Temporal worker, hosted on a thread of its own.
//!
//! `Worker::run()` is not `Send`, so it cannot be `tokio::spawn`ed beside axum: it gets a
//! dedicated OS thread with its own runtime (and its own database pool, whose connections then
//! live on the runtime that drives them). Two workers run there: one on the main task queue
//! (workflows and every activity but the model calls) and one on the model task queue, whose
//! Temporal rate limit (`MODEL_ACTIVITIES_PER_SECOND`) is enforced by the server across every
//! process that polls it — a per-process limit would multiply with the number of workers.

use std::{
    sync::{Arc, mpsc},
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context, anyhow};
use relivchats_activities::{
    InsightActivities, LedgerActivities, PaymentActivities, ProbeActivities, Providers,
};
use relivchats_metrics::Metrics;
use relivchats_workflows::{
    HealthProbeWorkflow, RefundPaymentWorkflow, RetryInsightWorkflow, TopUpWorkflow,
    UnlockInsightsWorkflow,
};
use temporalio_client::Client;
use temporalio_common::telemetry::{TelemetryOptions, metrics::CoreMeter};
use temporalio_sdk::{
    Runtime, Worker, WorkerOptions,
    runtime::{
        RuntimeOptions,
        worker_tuner::{FixedSizeSlotSupplier, TunerHolder},
    },
};

use crate::{config::Config, db};

type Shutdown = Box<dyn Fn() + Send + Sync>;

/// A running worker; [`WorkerThread::stop`] lets running tasks finish, then joins.
pub struct WorkerThread {
    shutdown: Shutdown,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for WorkerThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerThread").finish_non_exhaustive()
    }
}

/// How long running activities get to finish after a shutdown signal before they are
/// cancelled (Temporal then retries them elsewhere).
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(20);

impl WorkerThread {
    /// Starts polling `config.temporal.task_queue`; returns once the worker exists.
    /// `providers` are the process's one set (the Edge shard admits one holder); the SDK's
    /// worker metrics, the worker's pool and the ledger's counts go into `metrics`.
    pub fn spawn(
        config: &Config,
        client: Client,
        providers: Providers,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = mpsc::channel::<Shutdown>();
        let config = config.clone();
        let thread = std::thread::Builder::new()
            .name("temporal-worker".to_owned())
            .spawn(move || -> anyhow::Result<()> {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("temporal-activity")
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let pool = db::connect(
                        config.database_url.expose(),
                        config.database_max_connections,
                        false,
                    )
                    .await?;
                    db::watch(&metrics, "worker", &pool);
                    if config.reservation_sweep_secs > 0 {
                        // Ends with this runtime, when the worker stops.
                        tokio::spawn(relivchats_activities::ledger::sweep_expired_holds(
                            pool.clone(),
                            Duration::from_secs(config.reservation_sweep_secs),
                            metrics.clone(),
                        ));
                    }
                    let runtime = Runtime::from_current_tokio(runtime_options(&metrics)?)
                        .map_err(|e| anyhow!("cannot start the Temporal runtime: {e}"))?;
                    let mut main = Worker::new(
                        &runtime,
                        client.clone(),
                        worker_options(&config, pool.clone(), providers.clone(), metrics)?,
                    )
                    .map_err(|e| anyhow!("cannot create the Temporal worker: {e}"))?;
                    let mut model = Worker::new(
                        &runtime,
                        client,
                        model_worker_options(&config, pool, providers)?,
                    )
                    .map_err(|e| anyhow!("cannot create the model-queue worker: {e}"))?;
                    let (stop_main, stop_model) = (main.shutdown_handle(), model.shutdown_handle());
                    let _ = ready_tx.send(Box::new(move || {
                        stop_main();
                        stop_model();
                    }));
                    tracing::info!(
                        task_queue = %config.temporal.task_queue,
                        model_task_queue = %config.temporal.model_task_queue,
                        model_activities_per_second = ?config.temporal.model_activities_per_second,
                        "Temporal workers polling"
                    );
                    // One ending (on an error) stops the other, so the thread never half-runs.
                    let (stop_main, stop_model) = (main.shutdown_handle(), model.shutdown_handle());
                    let (main_result, model_result) = futures::future::join(
                        async {
                            let r = main.run().await;
                            stop_model();
                            r
                        },
                        async {
                            let r = model.run().await;
                            stop_main();
                            r
                        },
                    )
                    .await;
                    main_result.map_err(|e| anyhow!("the Temporal worker stopped: {e}"))?;
                    model_result.map_err(|e| anyhow!("the model-queue worker stopped: {e}"))
                })
            })?;
        match ready_rx.recv() {
            Ok(shutdown) => Ok(Self {
                shutdown,
                thread: Some(thread),
            }),
            // The thread ended before the worker existed: report why.
            Err(_) => Err(thread
                .join()
                .map_err(|_| anyhow!("the worker thread panicked"))?
                .err()
                .unwrap_or_else(|| anyhow!("the worker thread ended early"))),
        }
    }

    /// Asks the worker to stop polling, lets running tasks finish, and joins the thread.
    pub fn stop(mut self) -> anyhow::Result<()> {
        (self.shutdown)();
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow!("the worker thread panicked"))?,
            None => Ok(()),
        }
    }

    /// Waits for the worker to end on its own (it only does on error).
    pub fn join(mut self) -> anyhow::Result<()> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow!("the worker thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        if self.thread.is_some() {
            (self.shutdown)();
        }
    }
}

fn insight_activities(
    config: &Config,
    pool: sqlx::PgPool,
    providers: Providers,
) -> anyhow::Result<InsightActivities> {
    let cipher = relivchats_domain::crypto::Cipher::new(config.encryption_key.expose())
        .map_err(|e| anyhow!("ENCRYPTION_KEY: {e}"))?;
    Ok(InsightActivities::new(
        pool,
        std::sync::Arc::new(cipher),
        providers,
        config.providers.insight_settings(),
    ))
}

fn tuner(config: &Config) -> TunerHolder {
    let t = &config.temporal;
    TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(t.max_concurrent_workflow_tasks))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(t.max_concurrent_activities))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(t.max_concurrent_activities))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(4))
        .build()
}

/// The model queue's worker: only the insight activities (the workflows schedule just
/// `generate_insight` here), under the task-queue rate limit. Every worker sends the same
/// limit with its polls; the server applies the last one it saw, so they must agree.
fn model_worker_options(
    config: &Config,
    pool: sqlx::PgPool,
    providers: Providers,
) -> anyhow::Result<WorkerOptions> {
    let t = &config.temporal;
    Ok(WorkerOptions::new(t.model_task_queue.clone())
        .tuner(tuner(config))
        .graceful_shutdown_period(GRACEFUL_SHUTDOWN)
        .maybe_max_task_queue_activities_per_second(t.model_activities_per_second)
        .register_activities(insight_activities(config, pool, providers)?)
        .build())
}

/// The SDK runtime, with its worker metrics (task slots, poll and schedule-to-start latencies,
/// activity and workflow outcomes …) recorded into the process's registry.
fn runtime_options(metrics: &Metrics) -> anyhow::Result<RuntimeOptions> {
    let meter: Arc<dyn CoreMeter> = metrics.temporal_meter();
    RuntimeOptions::builder()
        .telemetry_options(TelemetryOptions::builder().metrics(meter).build())
        .build()
        .map_err(|e| anyhow!("Temporal runtime options: {e}"))
}

fn worker_options(
    config: &Config,
    pool: sqlx::PgPool,
    providers: Providers,
    metrics: Arc<Metrics>,
) -> anyhow::Result<WorkerOptions> {
    let insights = insight_activities(config, pool.clone(), providers)?;
    let t = &config.temporal;
    let options = WorkerOptions::new(t.task_queue.clone())
        .tuner(tuner(config))
        .graceful_shutdown_period(GRACEFUL_SHUTDOWN)
        .register_workflow::<HealthProbeWorkflow>()
        .context("registering HealthProbe")?
        .register_workflow::<UnlockInsightsWorkflow>()
        .context("registering UnlockInsights")?
        .register_workflow::<RetryInsightWorkflow>()
        .context("registering RetryInsight")?
        .register_workflow::<TopUpWorkflow>()
        .context("registering TopUp")?
        .register_workflow::<RefundPaymentWorkflow>()
        .context("registering RefundPayment")?
        .register_activities(PaymentActivities::new(pool.clone()))
        .register_activities(LedgerActivities::new(pool.clone(), metrics))
        .register_activities(ProbeActivities::new(pool))
        .register_activities(insights)
        .build();
    Ok(options)
}
