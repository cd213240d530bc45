//! The one failure vocabulary of the activities, and its one mapping to Temporal.
//!
//! A business refusal (unknown reservation, not enough coins, a payment for another order …)
//! is a non-retryable `ApplicationFailure` whose *type* tells a workflow which rule refused;
//! everything else is retried. `ActivityError` has a blanket `From` for every error, which
//! would make them all retryable, so activities convert with [`ActivityFailure::into_activity`]
//! (or return an error that converts into an [`ActivityFailure`]).

use std::time::Duration;

use temporalio_sdk::{ApplicationFailure, activities::ActivityError};

/// Why an activity did not complete, and whether Temporal should try again.
#[derive(Debug, thiserror::Error)]
pub enum ActivityFailure {
    /// A business rule: never retried. `kind` is the failure type a workflow sees.
    #[error("{message}")]
    Refused { kind: &'static str, message: String },
    /// Transient, described by us (a timeout, 429, 503): retried, after `retry_after` when the
    /// vendor said how long to wait.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Anything unexpected (the database, mostly): retried, reported as the error says.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl ActivityFailure {
    /// A non-retryable business failure of type `kind`.
    pub fn refused(kind: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            kind,
            message: message.into(),
        }
    }

    /// The failure as Temporal records it.
    pub fn into_activity(self) -> ActivityError {
        match self {
            Self::Refused { kind, message } => ActivityError::application(
                ApplicationFailure::builder(message)
                    .type_name(kind.to_owned())
                    .non_retryable(true)
                    .build(),
            ),
            Self::Transient {
                message,
                retry_after: Some(delay),
            } => ActivityError::application(
                ApplicationFailure::builder(message)
                    .next_retry_delay(delay)
                    .build(),
            ),
            Self::Transient {
                message,
                retry_after: None,
            } => ActivityError::application(ApplicationFailure::new(message)),
            Self::Unexpected(e) => ActivityError::from(e),
        }
    }
}

impl From<sqlx::Error> for ActivityFailure {
    fn from(e: sqlx::Error) -> Self {
        Self::Unexpected(anyhow::Error::from(e))
    }
}

/// `result.map_err(into_activity)` for any error that is an [`ActivityFailure`].
pub fn into_activity<E: Into<ActivityFailure>>(e: E) -> ActivityError {
    e.into().into_activity()
}
