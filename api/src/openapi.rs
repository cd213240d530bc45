//! The OpenAPI 3.1 document (`/openapi.json`) and the interactive docs (`/docs`).

use axum::Router;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::SwaggerUi;

use crate::{AppState, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "RelivChats API", description = "Upload a WhatsApp chat, get free statistics, unlock AI insights with coins. Every error body carries a top-level `detail` sentence."),
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
    modifiers(&BearerAuth),
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

pub(crate) fn router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
