//! `POST /api/payments/orders` and `GET /api/payments/orders/{order_id}`.

use axum::extract::State;
use chrono::{DateTime, Utc};
use relivchats_domain::payments::{self, Provider};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::payment_providers::{NewPaymentIntent, NewRazorpayOrder, VendorError};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

/// Longest accepted client idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// Fields not listed here are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateOrderRequest {
    /// A package id from `GET /api/credits/packages`.
    #[schema(format = Uuid)]
    package_id: String,
    /// `razorpay` (INR) or `stripe` (USD).
    #[schema(value_type = ProviderName)]
    provider: String,
    /// Sending the same key again returns the same order (scoped to the caller). At most 200
    /// characters, no NUL; blank is the same as absent.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    idempotency_key: Option<String>,
}

/// A payment provider, as the frontend names it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: the handler parses the name itself, with its own 422
pub(crate) enum ProviderName {
    Razorpay,
    Stripe,
}

/// The created (or, for a repeated idempotency key, the existing) order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreateOrderResponse {
    /// Our order id, for `GET /api/payments/orders/{order_id}`.
    order_id: String,
    /// Razorpay `order_…` or Stripe `pi_…`.
    provider_order_id: String,
    /// Minor units (paise, cents).
    amount: i32,
    /// `INR` or `USD`.
    currency: String,
    coins: i32,
    provider: String,
    /// Stripe only: for Stripe Elements' `confirmPayment`.
    client_secret: Option<String>,
    /// Always null (no hosted checkout page).
    checkout_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderStatusResponse {
    order_id: String,
    /// `pending`, `processing`, `completed`, `failed`, `refunded`, or `flagged` (the payment
    /// did not match the order; support will look at it).
    status: String,
    provider: String,
    amount: i32,
    currency: String,
    coins: i32,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    package_id: Uuid,
    provider: String,
    provider_order_id: String,
    amount: i32,
    currency: String,
    coins: i32,
    status: String,
    metadata: Value,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

const ORDER_COLUMNS: &str = "id, package_id, provider, provider_order_id, amount, currency, coins, status, metadata, created_at, completed_at";

impl OrderRow {
    fn created(self) -> CreateOrderResponse {
        CreateOrderResponse {
            order_id: self.id.to_string(),
            client_secret: self.metadata["client_secret"].as_str().map(str::to_owned),
            provider_order_id: self.provider_order_id,
            amount: self.amount,
            currency: self.currency,
            coins: self.coins,
            provider: self.provider,
            checkout_url: None,
        }
    }
}

/// A validated order request.
struct NewOrder {
    package_id: Uuid,
    provider: Provider,
    idempotency_key: Option<String>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid_field(
        format!("body.{field}"),
        message,
        format!("The request body is not valid: {message}"),
    )
}

impl NewOrder {
    fn parse(body: CreateOrderRequest) -> Result<Self, ApiError> {
        let package_id = Uuid::parse_str(body.package_id.trim())
            .map_err(|_| invalid("package_id", "package_id must be a package's UUID"))?;
        let provider = Provider::parse(body.provider.trim())
            .ok_or_else(|| invalid("provider", "provider must be 'razorpay' or 'stripe'"))?;
        let idempotency_key = body
            .idempotency_key
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        if idempotency_key
            .as_ref()
            .is_some_and(|k| k.chars().count() > MAX_IDEMPOTENCY_KEY)
        {
            return Err(invalid(
                "idempotency_key",
                "idempotency_key must be at most 200 characters",
            ));
        }
        Ok(Self {
            package_id,
            provider,
            idempotency_key,
        })
    }
}

/// Creates a provider order for a coin package: a Razorpay order (INR, paise) or a Stripe
/// PaymentIntent (USD, cents, with its `client_secret`). Coins are credited when the
/// provider's webhook reports the payment.
#[utoipa::path(post, path = "/api/payments/orders", tag = "payments", request_body = CreateOrderRequest,
    security(("bearer" = [])),
    responses((status = 200, body = CreateOrderResponse), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id), err(Debug))]
pub(crate) async fn create_order(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateOrderRequest>,
) -> ApiResult<ApiJson<CreateOrderResponse>> {
    let new = NewOrder::parse(body)?;
    ensure_configured(&state, new.provider)?;
    let user_id = user.user_id.as_str();
    if let Some(existing) = find_by_key(&state, user_id, new.idempotency_key.as_deref()).await? {
        return same_order(existing, &new);
    }
    let (coins, price) = package_price(&state, new.package_id, new.provider).await?;
    let amount = payments::minor_units(&price).map_err(|e| ApiError::Internal(e.into()))?;
    let order_id = Uuid::new_v4();
    let created = create_with_provider(&state, &new, user_id, order_id, amount, coins).await?;
    let inserted: Option<OrderRow> = sqlx::query_as(&format!(
        r#"INSERT INTO payment_orders
               (id, user_id, package_id, provider, provider_order_id, amount, currency, coins,
                status, idempotency_key, metadata)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10)
           ON CONFLICT DO NOTHING
           RETURNING {ORDER_COLUMNS}"#
    ))
    .bind(order_id)
    .bind(user_id)
    .bind(new.package_id)
    .bind(new.provider.as_str())
    .bind(&created.provider_order_id)
    .bind(amount)
    .bind(new.provider.currency().as_str())
    .bind(coins)
    .bind(&new.idempotency_key)
    .bind(&created.metadata)
    .fetch_optional(&state.pool)
    .await?;
    match inserted {
        Some(row) => Ok(ApiJson(row.created())),
        // A concurrent request with the same idempotency key won the insert: return its order.
        None => match find_by_key(&state, user_id, new.idempotency_key.as_deref()).await? {
            Some(existing) => same_order(existing, &new),
            None => Err(ApiError::Internal(anyhow::anyhow!(
                "order insert conflicted but no order holds the idempotency key"
            ))),
        },
    }
}

fn ensure_configured(state: &AppState, provider: Provider) -> Result<(), ApiError> {
    match provider {
        Provider::Razorpay if !super::razorpay(state)?.has_keys() => Err(super::not_configured(
            "Creating Razorpay orders",
            "RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET",
        )),
        Provider::Stripe if !super::stripe(state)?.has_secret_key() => Err(super::not_configured(
            "Creating Stripe payments",
            "STRIPE_SECRET_KEY",
        )),
        _ => Ok(()),
    }
}

/// A repeated idempotency key returns its order, unless it was for something else.
fn same_order(existing: OrderRow, new: &NewOrder) -> ApiResult<ApiJson<CreateOrderResponse>> {
    if existing.package_id != new.package_id || existing.provider != new.provider.as_str() {
        return Err(ApiError::Conflict(
            "This idempotency key was already used for a different package or provider.".into(),
        ));
    }
    Ok(ApiJson(existing.created()))
}

async fn find_by_key(
    state: &AppState,
    user_id: &str,
    key: Option<&str>,
) -> sqlx::Result<Option<OrderRow>> {
    let Some(key) = key else { return Ok(None) };
    sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM payment_orders WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id)
    .bind(key)
    .fetch_optional(&state.pool)
    .await
}

/// `(coins, price in the provider's currency as a decimal string)` of an active package.
async fn package_price(
    state: &AppState,
    package_id: Uuid,
    provider: Provider,
) -> Result<(i32, String), ApiError> {
    let row: Option<(i32, String, String)> = sqlx::query_as(
        "SELECT coins, price_inr::TEXT, price_usd::TEXT FROM credit_packages WHERE id = $1 AND is_active",
    )
    .bind(package_id)
    .fetch_optional(&state.pool)
    .await?;
    let (coins, inr, usd) = row.ok_or_else(|| ApiError::not_found("Package"))?;
    Ok(match provider {
        Provider::Razorpay => (coins, inr),
        Provider::Stripe => (coins, usd),
    })
}

/// What the provider returned, as stored on the order.
struct ProviderOrder {
    provider_order_id: String,
    metadata: Value,
}

async fn create_with_provider(
    state: &AppState,
    new: &NewOrder,
    user_id: &str,
    order_id: Uuid,
    amount: i32,
    coins: i32,
) -> Result<ProviderOrder, ApiError> {
    let created = match new.provider {
        Provider::Razorpay => {
            let receipt = format!("rcpt_{}", order_id.simple());
            let notes = json!({"user_id": user_id, "package_id": new.package_id, "coins": coins.to_string(), "order_id": order_id});
            let order = super::razorpay(state)?
                .create_order(NewRazorpayOrder {
                    amount: amount.into(),
                    receipt: &receipt,
                    notes,
                })
                .await;
            order.map(|o| ProviderOrder {
                provider_order_id: o.id,
                metadata: json!({"receipt": receipt, "client_secret": null, "checkout_url": null,
                                 "user_id": user_id, "package_id": new.package_id}),
            })
        }
        Provider::Stripe => {
            // The same caller key gives the same PaymentIntent, even to two racing requests.
            let key = match &new.idempotency_key {
                Some(k) => format!("relivchats:{user_id}:{k}"),
                None => format!("relivchats:{order_id}"),
            };
            let metadata = vec![
                ("user_id", user_id.to_owned()),
                ("package_id", new.package_id.to_string()),
                ("coins", coins.to_string()),
                ("order_id", order_id.to_string()),
            ];
            let intent = super::stripe(state)?
                .create_payment_intent(NewPaymentIntent {
                    amount: amount.into(),
                    metadata,
                    idempotency_key: &key,
                })
                .await;
            intent.map(|pi| ProviderOrder {
                provider_order_id: pi.id,
                metadata: json!({"client_secret": pi.client_secret, "checkout_url": null,
                                 "user_id": user_id, "package_id": new.package_id}),
            })
        }
    };
    created.map_err(gateway_error)
}

fn gateway_error(err: VendorError) -> ApiError {
    tracing::error!(error = %err, "payment provider refused to create the order");
    ApiError::ServiceUnavailable(
        "The payment provider could not create the order just now; please try again in a moment."
            .into(),
    )
}

/// The caller's order and its status (the frontend polls it after checkout).
#[utoipa::path(get, path = "/api/payments/orders/{order_id}", tag = "payments",
    params(("order_id" = Uuid, Path, description = "Our order id")), security(("bearer" = [])),
    responses((status = 200, body = OrderStatusResponse), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.user_id, %order_id), err(Debug))]
pub(crate) async fn get_order(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(order_id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<OrderStatusResponse>> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM payment_orders WHERE id = $1 AND user_id = $2"
    ))
    .bind(order_id)
    .bind(user.user_id.as_str())
    .fetch_optional(&state.pool)
    .await?;
    // Another user's order is a 404 like a missing one: nothing leaks.
    let row = row.ok_or_else(|| ApiError::not_found("Order"))?;
    Ok(ApiJson(OrderStatusResponse {
        order_id: row.id.to_string(),
        status: row.status,
        provider: row.provider,
        amount: row.amount,
        currency: row.currency,
        coins: row.coins,
        created_at: row.created_at,
        completed_at: row.completed_at,
    }))
}
