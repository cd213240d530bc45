//! `HealthProbe`: one activity against the database, proving client → server → worker →
//! activity → Postgres end to end.

#![allow(unreachable_pub)] // the workflow macros emit items the lint cannot see through

use std::time::Duration;

use relivchats_domain::contracts::probe::{ProbeContracts, ProbeInput, ProbeOutput};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ActivityOptions, WorkflowContext, WorkflowResult};

#[workflow]
#[derive(Default)]
pub struct HealthProbeWorkflow;

#[workflow_methods]
impl HealthProbeWorkflow {
    #[run(name = "HealthProbe")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: ProbeInput,
    ) -> WorkflowResult<ProbeOutput> {
        let out = ctx
            .execute_activity(
                ProbeContracts::probe_database,
                input,
                ActivityOptions::start_to_close_timeout(Duration::from_secs(10)),
            )
            .await?;
        Ok(out)
    }
}
