//! Settlements report their coins once however often they run.

use super::*;

/// The coin series count what the database says a call moved, so a ledger activity that is
/// retried, or runs on two workers at once, reports its coins once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlements_report_their_coins_once_however_often_they_run() {
    let app = TestApp::spawn().await;
    let token = app.token("metrics-ledger");
    let chat_id = app
        .upload_chat(&token, &relivchats_tests::two_person_chat())
        .await;
    let category = app.category_id("romantic").await;
    app.grant("metrics-ledger", 400).await;
    let hold = |amount| ReserveInput {
        reservation_id: Uuid::new_v4(),
        user_id: "metrics-ledger".into(),
        chat_id,
        category_id: category,
        workflow_id: "test".into(),
        amount,
        hold_secs: 60,
    };
    let sum = |moved: Vec<Result<(_, Moved), ledger::LedgerError>>| {
        moved.into_iter().fold(Moved::default(), |a, r| {
            let m = r.unwrap().1;
            Moved {
                captured: a.captured + m.captured,
                released: a.released + m.released,
                refunded: a.refunded + m.refunded,
            }
        })
    };

    let first = hold(300);
    ledger::reserve(&app.pool, &first).await.unwrap();
    let capture = CaptureInput {
        reservation_id: first.reservation_id,
        amount: 200,
        description: "partial".into(),
        job_id: "j".into(),
    };
    let moved = sum(join_all((0..5).map(|_| ledger::capture_moving(&app.pool, &capture))).await);
    assert_eq!(
        moved,
        Moved {
            captured: 200,
            released: 100,
            refunded: 0
        }
    );
    let refund = RefundInput {
        reservation_id: first.reservation_id,
        reason: "complaint".into(),
        operator: "ops".into(),
    };
    let moved = sum(join_all((0..3).map(|_| ledger::refund_moving(&app.pool, &refund))).await);
    assert_eq!(moved.refunded, 200);

    let second = hold(100);
    ledger::reserve(&app.pool, &second).await.unwrap();
    let release = ReleaseInput {
        reservation_id: second.reservation_id,
        reason: "deadline".into(),
        expired: false,
    };
    let moved = sum(join_all((0..3).map(|_| ledger::release_moving(&app.pool, &release))).await);
    assert_eq!(moved.released, 100);
    app.stop().await;
}
