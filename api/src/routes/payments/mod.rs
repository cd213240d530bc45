//! Payments: provider orders, their status, the providers' webhooks, and the Razorpay
//! checkout verification. Money moves only in the `TopUp` and `RefundPayment` workflows, which
//! the webhooks start (see `docs/ARCHITECTURE.md`, Payments).

mod dispatch;
mod launch;
mod orders;
mod verify;
mod webhooks;

use axum::{
    Router,
    routing::{get, post},
};

/// Where the binary has always imported the providers from.
pub use crate::payment_providers::{
    PaymentProviders, RazorpayClient, RazorpaySettings, StripeClient, StripeSettings, VendorError,
};

pub(crate) use orders::{__path_create_order, __path_get_order};
pub(crate) use verify::__path_verify_razorpay;
pub(crate) use webhooks::{__path_razorpay_webhook, __path_stripe_webhook, storable};

use crate::{AppState, error::ApiError};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/payments/orders", post(orders::create_order))
        .route("/payments/orders/{order_id}", get(orders::get_order))
        .route(
            "/payments/webhooks/razorpay",
            post(webhooks::razorpay_webhook),
        )
        .route("/payments/webhooks/stripe", post(webhooks::stripe_webhook))
        .route("/payments/razorpay/verify", post(verify::verify_razorpay))
}

/// The configured providers, or the 503 that says payments are off.
fn providers(state: &AppState) -> Result<&PaymentProviders, ApiError> {
    state.payments.as_deref().ok_or_else(|| {
        ApiError::ServiceUnavailable(
            "Payments are not configured on this server: set the RAZORPAY_* or STRIPE_* variables."
                .to_owned(),
        )
    })
}

fn razorpay(state: &AppState) -> Result<&RazorpayClient, ApiError> {
    providers(state)?.razorpay.as_ref().ok_or_else(|| {
        ApiError::ServiceUnavailable(
            "Payments through Razorpay are not configured on this server (set RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET)."
                .to_owned(),
        )
    })
}

fn stripe(state: &AppState) -> Result<&StripeClient, ApiError> {
    providers(state)?.stripe.as_ref().ok_or_else(|| {
        ApiError::ServiceUnavailable(
            "Payments through Stripe are not configured on this server (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)."
                .to_owned(),
        )
    })
}

fn not_configured(what: &str, variable: &str) -> ApiError {
    ApiError::ServiceUnavailable(format!(
        "{what} is not configured on this server (set {variable})."
    ))
}
