//! One workflow end to end: started through the client, run by the worker inside `serve`.

use std::time::Duration;

use futures::StreamExt;
use relivchats_tests::{TestApp, wait_until};
use temporalio_client::WorkflowListOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probe_runs_through_the_worker_and_is_listed() {
    let app = TestApp::spawn().await;
    let queue = app.config.temporal.task_queue.clone();
    let (workflow_id, out) =
        relivchats::temporal::run_probe(&app.temporal, &queue, "test", Duration::from_secs(60))
            .await
            .unwrap();
    assert_eq!(out.started_by, "test");
    assert!(
        out.database_version.starts_with("PostgreSQL"),
        "{}",
        out.database_version
    );

    // The operator sees it: listed by type and id through the visibility API.
    let query = format!("WorkflowType = 'HealthProbe' AND WorkflowId = '{workflow_id}'");
    wait_until(
        "the probe workflow is visible in the list",
        Duration::from_secs(10),
        async || {
            let mut stream = app.temporal.list_workflows(
                query.clone(),
                WorkflowListOptions::builder().limit(5).build(),
            );
            let Some(item) = stream.next().await else {
                return false;
            };
            let item = item.unwrap();
            assert_eq!(item.id(), workflow_id);
            assert_eq!(item.workflow_type(), "HealthProbe");
            true
        },
    )
    .await;
    app.stop().await;
}
