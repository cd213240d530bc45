//! Loads the catalogue embedded from `seed/` and upserts it (idempotent: by stable id).

use anyhow::{Context, anyhow};
use include_dir::{Dir, include_dir};
use relivchats_domain::catalogue::Catalogue;
use sqlx::PgPool;

static SEED_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../seed");

/// The embedded catalogue, parsed and checked.
pub fn catalogue() -> anyhow::Result<Catalogue> {
    let text = |path: &str| {
        SEED_DIR
            .get_file(path)
            .and_then(|f| f.contents_utf8())
            .with_context(|| format!("seed/{path} is missing from the build"))
    };
    let types: Vec<(&str, &str)> = SEED_DIR
        .get_dir("insight_types")
        .context("seed/insight_types is missing from the build")?
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "json"))
        .filter_map(|f| Some((f.path().to_str()?, f.contents_utf8()?)))
        .collect();
    Catalogue::parse(text("categories.json")?, text("packages.json")?, &types)
        .map_err(|problems| anyhow!("the seed data is invalid:\n  {}", problems.join("\n  ")))
}

/// What a seed run wrote.
#[derive(Debug, serde::Serialize)]
pub struct SeedReport {
    pub categories: usize,
    pub insight_types: usize,
    pub packages: usize,
}

/// Upserts categories, insight types, their links and the coin packages in one transaction.
#[tracing::instrument(skip_all, err)]
pub async fn run(pool: &PgPool) -> anyhow::Result<SeedReport> {
    let catalogue = catalogue()?;
    let mut tx = pool.begin().await?;
    for t in catalogue.insight_types.values() {
        sqlx::query(
            r#"INSERT INTO insight_types (id, name, display_title, description, icon, prompt_template,
                   rag_query_keywords, response_schema, required_metadata_fields, is_premium,
                   credit_cost, supports_group_chats, max_participants, is_active)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, TRUE)
               ON CONFLICT (id) DO UPDATE SET
                   name = EXCLUDED.name, display_title = EXCLUDED.display_title,
                   description = EXCLUDED.description, icon = EXCLUDED.icon,
                   prompt_template = EXCLUDED.prompt_template,
                   rag_query_keywords = EXCLUDED.rag_query_keywords,
                   response_schema = EXCLUDED.response_schema,
                   required_metadata_fields = EXCLUDED.required_metadata_fields,
                   is_premium = EXCLUDED.is_premium, credit_cost = EXCLUDED.credit_cost,
                   supports_group_chats = EXCLUDED.supports_group_chats,
                   max_participants = EXCLUDED.max_participants, updated_at = now()"#,
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.display_title)
        .bind(&t.description)
        .bind(&t.icon)
        .bind(&t.prompt_template)
        .bind(&t.rag_query_keywords)
        .bind(&t.response_schema)
        .bind(serde_json::to_value(&t.required_metadata_fields)?)
        .bind(t.is_premium)
        .bind(t.credit_cost)
        .bind(t.supports_group_chats)
        .bind(t.max_participants)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("upserting insight type {}", t.name))?;
    }
    for c in &catalogue.categories {
        sqlx::query(
            r#"INSERT INTO analysis_categories (id, name, display_name, description, icon, credit_cost, sort_order, is_active)
               VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE)
               ON CONFLICT (id) DO UPDATE SET
                   name = EXCLUDED.name, display_name = EXCLUDED.display_name,
                   description = EXCLUDED.description, icon = EXCLUDED.icon,
                   credit_cost = EXCLUDED.credit_cost, sort_order = EXCLUDED.sort_order,
                   updated_at = now()"#,
        )
        .bind(c.id)
        .bind(&c.name)
        .bind(&c.display_name)
        .bind(&c.description)
        .bind(&c.icon)
        .bind(c.credit_cost)
        .bind(c.sort_order)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("upserting category {}", c.name))?;
        let type_ids: Vec<uuid::Uuid> = catalogue.types_of(c).map(|t| t.id).collect();
        sqlx::query("DELETE FROM category_insight_types WHERE category_id = $1 AND NOT (insight_type_id = ANY($2))")
            .bind(c.id)
            .bind(&type_ids)
            .execute(&mut *tx)
            .await?;
        for (order, type_id) in type_ids.iter().enumerate() {
            sqlx::query(
                r#"INSERT INTO category_insight_types (category_id, insight_type_id, display_order)
                   VALUES ($1, $2, $3)
                   ON CONFLICT (category_id, insight_type_id) DO UPDATE SET display_order = EXCLUDED.display_order"#,
            )
            .bind(c.id)
            .bind(type_id)
            .bind(i32::try_from(order + 1)?)
            .execute(&mut *tx)
            .await?;
        }
    }
    for p in &catalogue.packages {
        sqlx::query(
            r#"INSERT INTO credit_packages (id, name, coins, price_usd, price_inr, description, is_popular, sort_order, is_active)
               VALUES ($1, $2, $3, $4::NUMERIC, $5::NUMERIC, $6, $7, $8, TRUE)
               ON CONFLICT (id) DO UPDATE SET
                   name = EXCLUDED.name, coins = EXCLUDED.coins, price_usd = EXCLUDED.price_usd,
                   price_inr = EXCLUDED.price_inr, description = EXCLUDED.description,
                   is_popular = EXCLUDED.is_popular, sort_order = EXCLUDED.sort_order,
                   updated_at = now()"#,
        )
        .bind(p.id)
        .bind(&p.name)
        .bind(p.coins)
        .bind(&p.price_usd)
        .bind(&p.price_inr)
        .bind(&p.description)
        .bind(p.is_popular)
        .bind(p.sort_order)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("upserting package {}", p.name))?;
    }
    tx.commit().await?;
    Ok(SeedReport {
        categories: catalogue.categories.len(),
        insight_types: catalogue.insight_types.len(),
        packages: catalogue.packages.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_is_valid() {
        let c = catalogue().unwrap();
        assert_eq!(c.categories.len(), 4);
        assert_eq!(c.insight_types.len(), 24);
        assert_eq!(c.packages.len(), 3);
        let coins: Vec<i32> = c.packages.iter().map(|p| p.coins).collect();
        assert_eq!(coins, vec![400, 850, 1600]);
        for category in &c.categories {
            assert_eq!(category.credit_cost, 400, "{}", category.name);
            assert_eq!(c.types_of(category).count(), 6, "{}", category.name);
        }
    }
}
