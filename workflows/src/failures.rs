//! Reading activity failures inside workflows.

use temporalio_common::{
    error::IncomingError, protos::temporal::api::failure::v1::failure::FailureInfo,
};
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
        // A local activity's failure arrives unwrapped: the application failure (or timeout)
        // is the top-level failure itself, with no activity wrapper around it.
        None => match err.failure() {
            Some(failure) => match &failure.failure_info {
                Some(FailureInfo::ApplicationFailureInfo(info)) => (
                    Some(info.r#type.clone()).filter(|t| !t.is_empty()),
                    failure.message.clone(),
                ),
                Some(FailureInfo::TimeoutFailureInfo(_)) => {
                    (None, "it took too long and timed out".to_owned())
                }
                _ => (None, failure.message.clone()),
            },
            None => (None, err.to_string()),
        },
    }
}
