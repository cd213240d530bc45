//! Reading activity failures inside workflows.

use temporalio_common::error::IncomingError;
use temporalio_sdk::ActivityExecutionError;

/// The failure's type (as set by the activity, e.g. `InsufficientCredits`) and a message fit to
/// show: the activity's own message, not the generic "Activity task failed".
pub(crate) fn describe(err: &ActivityExecutionError) -> (Option<String>, String) {
    match err.cause() {
        Some(IncomingError::Application(failure)) => (
            failure.type_name().map(str::to_owned),
            failure.source_error().to_string(),
        ),
        Some(IncomingError::Timeout(_)) => (None, "it took too long and timed out".to_owned()),
        Some(other) => (None, other.failure().message.clone()),
        None => (None, err.to_string()),
    }
}
