//! Operator commands that go through Temporal: list unlocks, signal a manual refund.

use anyhow::{Context, bail};
use futures::StreamExt;
use relivchats_domain::contracts::{
    search_attributes,
    unlock::{
        ManualRefund, ManualRefundSignal, UNLOCK_WORKFLOW, UnlockInsightsDefinition,
        unlock_workflow_id,
    },
};
use temporalio_client::{Client, WorkflowListOptions, WorkflowSignalOptions};
use uuid::Uuid;

/// The visibility query behind `admin unlocks` (the same text works in the Temporal UI).
pub fn unlocks_query(user: Option<&str>, status: Option<&str>) -> anyhow::Result<String> {
    let mut query = format!("WorkflowType = '{UNLOCK_WORKFLOW}'");
    for (attribute, value) in [
        (search_attributes::USER_ID, user),
        (search_attributes::UNLOCK_STATUS, status),
    ] {
        if let Some(v) = value {
            if v.contains('\'') {
                bail!("{attribute} values cannot contain quotes");
            }
            query.push_str(&format!(" AND {attribute} = '{v}'"));
        }
    }
    Ok(query)
}

/// One line per unlock: id, execution status, unlock stage, user, start time.
pub async fn list_unlocks(
    client: &Client,
    user: Option<&str>,
    status: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let query = unlocks_query(user, status)?;
    let mut stream =
        client.list_workflows(query, WorkflowListOptions::builder().limit(200).build());
    let mut lines = Vec::new();
    while let Some(item) = stream.next().await {
        let item = item.context("listing workflows")?;
        let attributes = item.search_attributes();
        let get = |name: &'static str| {
            attributes
                .get(&temporalio_common::search_attributes::SearchAttributeKey::<
                    String,
                >::keyword(name))
                .unwrap_or_default()
        };
        let started = item
            .start_time()
            .map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
            .unwrap_or_default();
        lines.push(format!(
            "{}\t{:?}\t{}\tuser={}\tstarted={started}",
            item.id(),
            item.status(),
            get(search_attributes::UNLOCK_STATUS),
            get(search_attributes::USER_ID),
        ));
    }
    Ok(lines)
}

/// Sends `manual_refund` to the unlock of a chat and category (slug or id).
pub async fn refund_unlock(
    pool: &sqlx::PgPool,
    client: &Client,
    chat_id: Uuid,
    category: &str,
    reason: &str,
    operator: &str,
) -> anyhow::Result<String> {
    let category_id: Option<Uuid> = match Uuid::parse_str(category) {
        Ok(id) => Some(id),
        Err(_) => {
            sqlx::query_scalar("SELECT id FROM analysis_categories WHERE name = $1")
                .bind(category)
                .fetch_optional(pool)
                .await?
        }
    };
    let category_id = category_id.with_context(|| format!("no category {category:?}"))?;
    let workflow_id = unlock_workflow_id(chat_id, category_id);
    let handle = client.get_workflow_handle::<UnlockInsightsDefinition>(workflow_id.clone());
    let request = ManualRefund {
        reason: reason.to_owned(),
        operator: operator.to_owned(),
    };
    handle
        .signal(
            ManualRefundSignal,
            request,
            WorkflowSignalOptions::default(),
        )
        .await
        .with_context(|| {
            format!(
                "signalling {workflow_id} (is the unlock still running or in its refund window?)"
            )
        })?;
    Ok(workflow_id)
}
