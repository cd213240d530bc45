//! Starting a workflow from a request, written once: the unlock, the free retry and the
//! payment workflows all start "or attach", so a double click, a client retry or a redelivered
//! webhook lands on the run already going under the same id instead of starting a second one.

use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
    errors::WorkflowStartError,
};
use temporalio_common::{HasWorkflowDefinition, search_attributes::SearchAttributes};

use crate::AppState;

/// What a start found under its workflow id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Started {
    /// A run is going: this call started it, or attached to the one already running.
    Running,
    /// A run with this id already closed, and `reuse` refuses another (`RejectDuplicate`).
    AlreadyClosed,
}

/// How to start one workflow.
pub(crate) struct StartRequest {
    pub(crate) workflow_id: String,
    /// Whether a closed run's id may run again (`AllowDuplicate`: an unlock after a refund)
    /// or not (`RejectDuplicate`: a payment is credited once).
    pub(crate) reuse: WorkflowIdReusePolicy,
    pub(crate) search_attributes: SearchAttributes,
    /// Shown in the Temporal UI.
    pub(crate) summary: String,
}

/// Starts `workflow` on the API's task queue, or attaches to the running one with the same id
/// (conflict policy `UseExisting`). Other errors (Temporal unreachable, a bad request) are the
/// caller's to turn into its own answer.
pub(crate) async fn start_or_attach<W>(
    state: &AppState,
    workflow: W,
    input: W::Input,
    request: StartRequest,
) -> Result<Started, WorkflowStartError>
where
    W: HasWorkflowDefinition,
    W::Input: Send,
{
    let options = WorkflowStartOptions::new(state.task_queue.to_string(), request.workflow_id)
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(request.reuse)
        .search_attributes(request.search_attributes)
        .static_summary(request.summary)
        .build();
    match state
        .temporal
        .start_workflow(workflow, input, options)
        .await
    {
        Ok(_) => Ok(Started::Running),
        Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(Started::AlreadyClosed),
        Err(e) => Err(e),
    }
}
