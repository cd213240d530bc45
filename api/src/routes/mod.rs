//! One module per resource: its `router()`, handlers and SQL.

pub mod categories;
pub mod chats;
pub mod clerk_webhook;
pub mod credits;
pub mod health;
pub mod insights;
pub mod payments;
pub mod rag;
pub mod users;

use axum::{body::Bytes, extract::rejection::BytesRejection};

use crate::error::ApiError;

/// A signed webhook's raw body: the signature covers these exact bytes, so they are taken
/// as they came (a body that could not be read is the sender's 400, in the one error body).
pub(crate) fn raw_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| ApiError::BadRequest(format!("The request body could not be read: {e}.")))
}
