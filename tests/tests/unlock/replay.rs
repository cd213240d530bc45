//! Recorded histories of earlier workflow versions replay against today's code.

use super::*;

/// Every saved history (from earlier versions of the workflow, see [`assert_replays`]) still
/// replays: a change of commands must sit behind `ctx.patched`, or runs in flight during a
/// deploy would fail.
#[tokio::test]
async fn histories_of_earlier_workflow_versions_still_replay() {
    use temporalio_client::WorkflowHistory;
    let mut paths: Vec<_> = std::fs::read_dir(HISTORY_FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no recorded histories in {HISTORY_FIXTURES}"
    );
    for path in paths {
        let history = WorkflowHistory::from_json(&std::fs::read(&path).unwrap()).unwrap();
        unlock_replayer()
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} no longer replays: {e}", path.display()));
    }
}
