//! Reading activity failures inside workflows.

use temporalio_common::{
    error::IncomingError,
    protos::temporal::api::failure::v1::{Failure, failure::FailureInfo},
};
use temporalio_sdk::ActivityExecutionError;

const TIMED_OUT: &str = "it took too long and timed out";

/// The failure's type (as set by the activity, e.g. `InsufficientCredits`) and a message fit to
/// show: the activity's own message, not the generic "Activity task failed".
pub(crate) fn describe(err: &ActivityExecutionError) -> (Option<String>, String) {
    match err.cause() {
        Some(IncomingError::Application(failure)) => (
            failure.type_name().map(str::to_owned),
            failure.source_error().to_string(),
        ),
        Some(IncomingError::Timeout(_)) => (None, TIMED_OUT.to_owned()),
        Some(other) => (None, other.failure().message.clone()),
        // A local activity's failure arrives unwrapped: no activity wrapper, no cause.
        None => err
            .failure()
            .map_or_else(|| (None, err.to_string()), unwrapped),
    }
}

/// A top-level failure that is itself the application failure (or the timeout).
fn unwrapped(failure: &Failure) -> (Option<String>, String) {
    match &failure.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(info)) => (
            Some(info.r#type.clone()).filter(|t| !t.is_empty()),
            failure.message.clone(),
        ),
        Some(FailureInfo::TimeoutFailureInfo(_)) => (None, TIMED_OUT.to_owned()),
        _ => (None, failure.message.clone()),
    }
}
