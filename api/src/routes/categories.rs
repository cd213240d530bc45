//! Categories and their insight types (public).

use axum::{Router, extract::State, routing::get};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody},
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/categories", get(list_categories))
        .route("/categories/{category}/insights", get(category_insights))
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub(crate) struct InsightTypeResponse {
    id: Uuid,
    /// Picks the frontend view, e.g. `conflict_resolution`.
    name: String,
    display_title: String,
    description: Option<String>,
    icon: Option<String>,
    is_premium: bool,
    credit_cost: i32,
    /// New: whether the type accepts chats with more than two people.
    supports_group_chats: bool,
    /// New: the largest chat it accepts (`null`: no limit).
    max_participants: Option<i32>,
    #[serde(skip)]
    #[schema(ignore)]
    category_id: Uuid,
    /// New: inactive types are listed by `/categories/{id}/insights` only.
    is_active: bool,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub(crate) struct CategoryRow {
    id: Uuid,
    /// The slug: `romantic`, `friendship`, `family`, `workplace`.
    name: String,
    display_name: String,
    description: Option<String>,
    icon: Option<String>,
    credit_cost: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CategoryResponse {
    id: Uuid,
    name: String,
    display_name: String,
    description: Option<String>,
    icon: Option<String>,
    insight_types: Vec<InsightTypeResponse>,
    insights_count: usize,
    /// The price of an unlock, in coins.
    base_cost: i32,
}

const TYPE_COLUMNS: &str = r#"
    SELECT t.id, t.name, t.display_title, t.description, t.icon, t.is_premium, t.credit_cost,
           t.supports_group_chats, t.max_participants, cit.category_id, t.is_active
    FROM category_insight_types cit
    JOIN insight_types t ON t.id = cit.insight_type_id"#;

/// The active categories with their active insight types, in display order.
#[utoipa::path(get, path = "/api/categories", tag = "categories",
    responses((status = 200, body = Vec<CategoryResponse>)))]
#[tracing::instrument(skip_all, err(Debug))]
pub(crate) async fn list_categories(
    State(state): State<AppState>,
) -> ApiResult<ApiJson<Vec<CategoryResponse>>> {
    let categories: Vec<CategoryRow> = sqlx::query_as(
        r#"SELECT id, name, display_name, description, icon, credit_cost
           FROM analysis_categories WHERE is_active ORDER BY sort_order, name"#,
    )
    .fetch_all(&state.pool)
    .await?;
    let types: Vec<InsightTypeResponse> = sqlx::query_as(&format!(
        "{TYPE_COLUMNS} WHERE t.is_active ORDER BY cit.display_order, t.name"
    ))
    .fetch_all(&state.pool)
    .await?;
    let out = categories
        .into_iter()
        .map(|c| {
            let insight_types: Vec<_> = types
                .iter()
                .filter(|t| t.category_id == c.id)
                .cloned()
                .collect();
            CategoryResponse {
                insights_count: insight_types.len(),
                id: c.id,
                name: c.name,
                display_name: c.display_name,
                description: c.description,
                icon: c.icon,
                insight_types,
                base_cost: c.credit_cost,
            }
        })
        .collect();
    Ok(ApiJson(out))
}

/// The insight types of one category (by id or slug), inactive ones included, in display order.
#[utoipa::path(get, path = "/api/categories/{category}/insights", tag = "categories",
    params(("category" = String, Path, pattern = r"^[^\u0000]*$", description = "Category id (UUID) or slug")),
    responses((status = 200, body = Vec<InsightTypeResponse>), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip(state), err(Debug))]
pub(crate) async fn category_insights(
    State(state): State<AppState>,
    ApiPath(category): ApiPath<String>,
) -> ApiResult<ApiJson<Vec<InsightTypeResponse>>> {
    let id: Option<Uuid> = match Uuid::parse_str(&category) {
        Ok(id) => {
            sqlx::query_scalar("SELECT id FROM analysis_categories WHERE id = $1")
                .bind(id)
                .fetch_optional(&state.pool)
                .await?
        }
        Err(_) => {
            sqlx::query_scalar("SELECT id FROM analysis_categories WHERE name = $1")
                .bind(category.to_lowercase())
                .fetch_optional(&state.pool)
                .await?
        }
    };
    let id = id.ok_or_else(|| ApiError::not_found("Category"))?;
    let types = sqlx::query_as(&format!(
        "{TYPE_COLUMNS} WHERE cit.category_id = $1 ORDER BY cit.display_order, t.name"
    ))
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(types))
}
