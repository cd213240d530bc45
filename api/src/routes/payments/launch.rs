//! Starting a payment workflow, shared by the webhooks and the Razorpay checkout
//! verification: whichever of them arrives first starts it, the other attaches or is told it
//! already ran, so a payment is credited once.

use relivchats_domain::{contracts::payments::payment_search_attributes, payments::Provider};
use temporalio_client::WorkflowIdReusePolicy;
use temporalio_common::HasWorkflowDefinition;

use crate::{
    AppState,
    error::{ApiError, ApiResult},
    workflow_start::{StartRequest, Started, start_or_attach},
};

/// How to start one payment workflow.
pub(crate) struct Launch<'a> {
    pub(crate) workflow_id: String,
    pub(crate) user_id: &'a str,
    pub(crate) provider: Provider,
    /// Shown in the Temporal UI.
    pub(crate) summary: String,
    /// `topup` or `refund`: prefixes the outcome.
    pub(crate) kind: &'static str,
}

/// Starts (or attaches to) a payment workflow: conflict `UseExisting` attaches a redelivery to
/// the running one, reuse `RejectDuplicate` refuses a second run after it closed.
pub(crate) async fn start<W>(
    state: &AppState,
    workflow: W,
    input: W::Input,
    launch: Launch<'_>,
) -> ApiResult<String>
where
    W: HasWorkflowDefinition,
    W::Input: Send,
{
    let Launch {
        workflow_id,
        user_id,
        provider,
        summary,
        kind,
    } = launch;
    let request = StartRequest {
        workflow_id: workflow_id.clone(),
        reuse: WorkflowIdReusePolicy::RejectDuplicate,
        search_attributes: payment_search_attributes(user_id, provider),
        summary,
    };
    match start_or_attach(state, workflow, input, request).await {
        Ok(Started::Running) => {
            tracing::info!(%workflow_id, "payment workflow started (or attached)");
            Ok(format!("{kind}_started"))
        }
        Ok(Started::AlreadyClosed) => {
            tracing::info!(%workflow_id, "payment workflow already ran");
            Ok(format!("{kind}_already_done"))
        }
        Err(e) => {
            tracing::error!(%workflow_id, error = %e, "cannot start the payment workflow");
            // The event stays unprocessed; the provider's retry will try again.
            Err(ApiError::ServiceUnavailable(
                "The payment could not be queued for processing; it will be retried.".into(),
            ))
        }
    }
}
