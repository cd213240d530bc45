//! The OpenAPI 3.1 document (`/openapi.json`) and the interactive docs (`/docs`).

use axum::{Router, http::Method};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        ContentBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
        header::HeaderBuilder,
        path::{Operation, ParameterIn, PathItem},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    AppState,
    error::{ErrorBody, ErrorInfo},
    limits::LimitClass,
    routes,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "RelivChats API", description = "Upload a WhatsApp chat, get free statistics, unlock AI insights with coins.\n\nEvery error is one body, `ErrorBody`: a `detail` sentence for a person and an `error` object (`code`, `message`, `timestamp`, `request_id`, `details`). Every status an operation can return is listed on it; 408, 500 and, where they apply, 401, 422, 429 and 503 come from shared layers (timeouts, panics, sign-in, input parsing, rate limits).\n\nJSON request bodies may carry fields this document does not name: they are accepted and ignored, as the earlier service did (the frontend sends a few). Query parameters outside their stated ranges are refused with a 422, never clamped. Text may not contain U+0000 (NUL), which PostgreSQL cannot store: a request carrying one where it would be stored or looked up is a 422."),
    paths(
        routes::health::root,
        routes::health::health,
        routes::health::ready,
        routes::health::db_pool,
        routes::users::store_user,
        routes::users::delete_account,
        routes::clerk_webhook::clerk_webhook,
        routes::chats::upload_chat,
        routes::chats::list_chats,
        routes::chats::get_chat,
        routes::chats::list_messages,
        routes::chats::vector_status,
        routes::chats::delete_chat,
        routes::chats::share_chat,
        routes::chats::unshare_chat,
        routes::chats::public_stats,
        routes::insights::unlock,
        routes::insights::job_status,
        routes::insights::chat_insights,
        routes::insights::retry_insight,
        routes::categories::list_categories,
        routes::categories::category_insights,
        routes::credits::balance,
        routes::credits::transactions,
        routes::credits::packages,
        routes::payments::create_order,
        routes::payments::get_order,
        routes::payments::razorpay_webhook,
        routes::payments::stripe_webhook,
        routes::payments::verify_razorpay,
        routes::rag::rag_query,
    ),
    components(schemas(ErrorBody, ErrorInfo)),
    modifiers(&BearerAuth, &SharedResponses),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "users", description = "Sign-in sync and account deletion"),
        (name = "chats", description = "Upload, statistics, messages, sharing"),
        (name = "categories", description = "What can be unlocked"),
        (name = "insights", description = "Unlock a category (the UnlockInsights saga), follow it, read and retry insights"),
        (name = "credits", description = "Coins: balance, ledger, packages"),
        (name = "payments", description = "Buy coins: provider orders, their status, provider webhooks"),
        (name = "rag", description = "Semantic search over a chat"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A Clerk session token, or in development one printed by `relivchats token --user NAME`."))
                    .build(),
            ),
        );
    }
}

/// The statuses that come from layers every request of a kind passes through, added to each
/// operation as a reference to one shared response (a handler's own, more specific entry for
/// the same status wins):
///
/// - 408 and 500, everywhere: the timeout middleware and the panic catcher wrap every route;
/// - 401 and 503 on secured operations: `AuthUser` refuses a missing or bad token, and
///   answers 503 when Clerk's keys cannot be fetched;
/// - 422 where a path, a query or a typed body is parsed (`ApiPath`, `ApiQuery`, `ApiJson`);
///   raw webhook bodies are not parsed that way;
/// - 429 with `Retry-After` where `limits::LimitClass` puts a rate limit.
struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, response) in shared_responses() {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response));
        }
        for (path, item) in &mut openapi.paths.paths {
            for (method, operation) in operations(item) {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut shared = vec![("408", "RequestTimeout"), ("500", "InternalError")];
                if secured {
                    shared.extend([("401", "Unauthorized"), ("503", "Unavailable")]);
                }
                if parses_input(operation) {
                    shared.push(("422", "ValidationFailed"));
                }
                if LimitClass::of(&method, path).is_some() {
                    shared.push(("429", "TooManyRequests"));
                }
                for (status, name) in shared {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| Some((method, op?)))
    .collect()
}

/// Whether the operation takes a path or query parameter, or a body typed by a schema.
fn parses_input(operation: &Operation) -> bool {
    let params = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
    let typed_body = operation.request_body.as_ref().is_some_and(|body| {
        body.content
            .values()
            .any(|c| matches!(c.schema, Some(RefOr::Ref(_))))
    });
    params || typed_body
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

fn shared_responses() -> [(&'static str, Response); 6] {
    let retry_after = HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .build(),
        )
        .description(Some("Seconds to wait before trying again."))
        .build();
    let www_authenticate = HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String).build())
        .description(Some("`Bearer`."))
        .build();
    [
        (
            "Unauthorized",
            error_response("Not signed in: the token is missing, expired or not valid, or the account was deleted.")
                .header("WWW-Authenticate", www_authenticate)
                .build(),
        ),
        (
            "ValidationFailed",
            error_response("The path, query or body is not valid; `error.details.validation_errors` names the field and the rule.")
                .build(),
        ),
        (
            "TooManyRequests",
            error_response("Rate limited (per user, or per client address when anonymous), or too much of this work is already running for the user.")
                .header("Retry-After", retry_after)
                .build(),
        ),
        (
            "RequestTimeout",
            error_response("The request body stalled or the request took too long (`HTTP_BODY_IDLE_TIMEOUT_SECS`, `HTTP_REQUEST_TIMEOUT_SECS`).")
                .build(),
        ),
        (
            "InternalError",
            error_response("An unexpected failure; it is logged under `error.request_id`.").build(),
        ),
        (
            "Unavailable",
            error_response("A service this request needs could not be reached (the sign-in service, Temporal, the vector store or a payment provider), or is not configured.")
                .build(),
        ),
    ]
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
