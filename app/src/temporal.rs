//! The Temporal client: connection, search-attribute registration, and the readiness check.

use std::{collections::HashMap, time::Duration};

use anyhow::Context;
use futures::future::BoxFuture;
use relivchats_api::DependencyCheck;
use relivchats_domain::contracts::search_attributes::CUSTOM_SEARCH_ATTRIBUTES;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_common::protos::temporal::api::{
    enums::v1::IndexedValueType,
    operatorservice::v1::{AddSearchAttributesRequest, ListSearchAttributesRequest},
    workflowservice::v1::GetSystemInfoRequest,
};
use url::Url;

use crate::config::TemporalConfig;

/// `host:port` or a URL, as a URL.
pub fn target_url(config: &TemporalConfig) -> anyhow::Result<Url> {
    let raw = &config.address;
    let with_scheme = if raw.contains("://") {
        raw.clone()
    } else if config.tls {
        format!("https://{raw}")
    } else {
        format!("http://{raw}")
    };
    Url::parse(&with_scheme)
        .with_context(|| format!("TEMPORAL_ADDRESS {raw:?} is not host:port or a URL"))
}

/// Connects to Temporal, retrying for up to `patience` (the dev server may still be starting).
pub async fn connect(config: &TemporalConfig, patience: Duration) -> anyhow::Result<Client> {
    let url = target_url(config)?;
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let mut options = ConnectionOptions::new(url.clone())
            .identity(format!("relivchats@{}", std::process::id()))
            .connect_timeout(Duration::from_secs(5))
            .build();
        if let Some(key) = &config.api_key {
            options.api_key = Some(key.expose().to_owned());
        }
        if config.tls {
            options.tls_options = Some(Default::default());
        }
        match Connection::connect(options).await {
            Ok(conn) => {
                let client =
                    Client::new(conn, ClientOptions::new(config.namespace.clone()).build())?;
                return Ok(client);
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "Temporal not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot reach Temporal at {url} (start the dev server with scripts/dev, or set TEMPORAL_ADDRESS)"
                )));
            }
        }
    }
}

/// Registers every custom search attribute the namespace lacks, so a bare
/// `temporal server start-dev` works. On a production cluster the same attributes are created
/// once by an operator (see README); this call then finds them all and adds nothing.
pub async fn ensure_search_attributes(
    client: &Client,
    namespace: &str,
) -> anyhow::Result<Vec<String>> {
    let mut operator = client.connection().operator_service();
    let existing = operator
        .list_search_attributes(tonic::Request::new(ListSearchAttributesRequest {
            namespace: namespace.to_owned(),
        }))
        .await
        .context("listing search attributes")?
        .into_inner();
    let missing: HashMap<String, i32> = CUSTOM_SEARCH_ATTRIBUTES
        .iter()
        .filter(|(name, _)| !existing.custom_attributes.contains_key(*name))
        .map(|(name, _)| ((*name).to_owned(), IndexedValueType::Keyword as i32))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = missing.keys().cloned().collect();
    let result = operator
        .add_search_attributes(tonic::Request::new(AddSearchAttributesRequest {
            search_attributes: missing,
            namespace: namespace.to_owned(),
        }))
        .await;
    match result {
        Ok(_) => Ok(names),
        // Two processes registering at once: the other one won.
        Err(status) if status.code() == tonic::Code::AlreadyExists => Ok(Vec::new()),
        Err(status) => Err(anyhow::Error::new(status).context(
            "registering search attributes failed; create them with `temporal operator search-attribute create` (README)",
        )),
    }
}

/// `/health/ready`'s Temporal check: a cheap RPC on the live connection.
pub struct TemporalCheck {
    pub client: Client,
}

impl DependencyCheck for TemporalCheck {
    fn name(&self) -> &'static str {
        "temporal"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut service = self.client.connection().workflow_service();
            service
                .get_system_info(tonic::Request::new(GetSystemInfoRequest {}))
                .await
                .map(|_| ())
                .map_err(|status| status.message().to_owned())
        })
    }
}

/// Starts the `HealthProbe` workflow and waits for its result: proves client → server →
/// worker → activity → Postgres. Its id is `probe:{started_by}:{uuid}`, visible in the UI.
pub async fn run_probe(
    client: &Client,
    task_queue: &str,
    started_by: &str,
    timeout: Duration,
) -> anyhow::Result<(String, relivchats_domain::contracts::probe::ProbeOutput)> {
    use relivchats_domain::contracts::probe::ProbeInput;
    use relivchats_workflows::HealthProbeWorkflow;
    use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

    let workflow_id = format!("probe:{started_by}:{}", uuid::Uuid::new_v4());
    let options = WorkflowStartOptions::new(task_queue.to_owned(), workflow_id.clone())
        .static_summary(format!("health probe started by {started_by}"))
        .build();
    let input = ProbeInput {
        started_by: started_by.to_owned(),
    };
    let handle = client
        .start_workflow(HealthProbeWorkflow::run, input, options)
        .await
        .context("starting the HealthProbe workflow")?;
    let output = tokio::time::timeout(timeout, handle.get_result(WorkflowGetResultOptions::default()))
        .await
        .with_context(|| format!("HealthProbe {workflow_id} did not finish within {timeout:?} (is a worker polling {task_queue}?)"))?
        .context("HealthProbe failed")?;
    Ok((workflow_id, output))
}
