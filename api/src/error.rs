//! The one error type of the HTTP boundary.
//!
//! Every error body has the same shape, whichever layer produced it (handler, extractor,
//! auth, fallback): `{"detail": "<sentence>", "error": {"code", "message", "timestamp",
//! "request_id", "details"?}}`. The frontend reads `detail`; operators grep `request_id`.
//! A 500 logs its cause chain and tells the client nothing about it outside development.

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::middleware::current_request_id;

tokio::task_local! {
    /// Whether 500 bodies may carry their cause chain (true only in development).
    pub static EXPOSE_INTERNALS: bool;
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Validation { message: String, details: Value },
    #[error("You need {required} coins but have {available} available.")]
    InsufficientCredits { required: i64, available: i64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    RequestTimeout(String),
    /// 429, with `Retry-After: retry_after_secs`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("an internal error occurred")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found."))
    }

    /// A 422 about one input `field` (`body.provider`, `query.limit`): `message` is the
    /// sentence a person reads, `reason` the short rule listed under `validation_errors`.
    pub fn invalid_field(
        field: impl Into<String>,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let (field, reason) = (field.into(), reason.into());
        Self::Validation {
            message: message.into(),
            details: json!({ "validation_errors": [{ "field": field, "message": reason }] }),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "ERR_1001"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "ERR_1003"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "ERR_1004"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "ERR_1002"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "ERR_2001"),
            Self::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "ERR_1001"),
            Self::InsufficientCredits { .. } => (StatusCode::PAYMENT_REQUIRED, "ERR_3000"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "ERR_3004"),
            Self::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "ERR_1008"),
            Self::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "ERR_1009"),
            Self::ServiceUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ERR_4000"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "ERR_1000"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        // PostgreSQL refuses U+0000 in any text value (SQLSTATE 22021). Only a client puts one
        // there, so it is that client's mistake, whichever field carried it.
        if err
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "22021")
        {
            return Self::invalid_field(
                "request",
                "contains U+0000",
                "The request contains a NUL character (U+0000), which no text field accepts.",
            );
        }
        Self::Internal(err.into())
    }
}

/// The one error body, as sent and as documented (`#/components/schemas/ErrorBody`): the
/// response is serialized from this type, so the document cannot drift from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence a person can read; the frontend shows it as is.
    pub detail: String,
    pub error: ErrorInfo,
    /// 402 only: the coins the unlock costs (also in `error.details`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<i64>,
    /// 402 only: the coins available now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// 402 only: `required - available`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deficit: Option<i64>,
}

/// The machine-readable part of [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    /// `ERR_1000` internal, `ERR_1001` bad input, `ERR_1002` not found, `ERR_1003` not signed
    /// in, `ERR_1004` forbidden, `ERR_1008` timeout, `ERR_1009` rate limited, `ERR_2001`
    /// conflict, `ERR_2002` not ready, `ERR_3000` not enough coins, `ERR_3004` too large,
    /// `ERR_4000` a dependency is unavailable.
    #[schema(pattern = "^ERR_[0-9]{4}$")]
    pub code: &'static str,
    /// The same sentence as `detail`.
    pub message: String,
    /// When the error was produced (RFC 3339, UTC, whole seconds).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The request's id, as in the `X-Request-ID` header and the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub request_id: Option<String>,
    /// 422: `{"validation_errors": [{"field", "message"}]}`; 402: `{required, available,
    /// deficit}`; a 500 in development: `{"cause_chain": [...]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

impl ErrorInfo {
    /// An error part stamped with now and the current request's id.
    pub fn new(code: &'static str, message: String, details: Option<Value>) -> Self {
        Self {
            code,
            message,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            request_id: current_request_id(),
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let expose = EXPOSE_INTERNALS.try_with(|e| *e).unwrap_or(false);
        let mut body = ErrorBody {
            detail: String::new(),
            error: ErrorInfo::new(code, String::new(), None),
            required: None,
            available: None,
            deficit: None,
        };
        let (message, details) = match &self {
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed");
                let details = expose.then(|| {
                    json!({ "cause_chain": cause.chain().map(|c| c.to_string()).collect::<Vec<_>>() })
                });
                (
                    "An unexpected error occurred. It has been logged; please try again."
                        .to_owned(),
                    details,
                )
            }
            Self::Validation { message, details } => (message.clone(), Some(details.clone())),
            Self::InsufficientCredits {
                required,
                available,
            } => {
                // The 402 fields also sit at the top level, where the frontend looks first.
                body.required = Some(*required);
                body.available = Some(*available);
                body.deficit = Some(required - available);
                (
                    self.to_string(),
                    Some(json!({
                        "required": required,
                        "available": available,
                        "deficit": required - available,
                    })),
                )
            }
            other => (other.to_string(), None),
        };
        body.detail.clone_from(&message);
        body.error.message = message;
        body.error.details = details;
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::TooManyRequests {
            retry_after_secs, ..
        } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

fn validation(message: &str, field: &str, reason: String) -> ApiError {
    let sentence = format!("{message}: {reason}");
    ApiError::invalid_field(field, reason, sentence)
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => validation(
                "The request body must be JSON",
                "body",
                "send the header 'Content-Type: application/json'".to_owned(),
            ),
            other => validation("The request body is not valid", "body", other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        validation("The URL is not valid", "path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        validation(
            "The query string is not valid",
            "query",
            rejection.body_text(),
        )
    }
}

/// JSON body extractor whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// Path extractor whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query extractor whose rejection is an [`ApiError`].
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;
