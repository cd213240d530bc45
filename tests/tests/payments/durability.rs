//! Durability: a crash between webhook and credit, and a top-up no verified webhook backs.

use super::*;

/// A running process: `relivchats serve`, or an API alone (the webhook receiver).
struct Process {
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    address: String,
}

impl Process {
    /// `relivchats serve`: API and worker.
    async fn serve(config: &Config) -> Self {
        let app = Application::build(config, Role::Serve)
            .await
            .expect("the application builds");
        let address = format!(
            "http://{}",
            app.local_addr().expect("the serve role listens")
        );
        let (stop, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            stop,
            server,
            address,
        }
    }

    /// The HTTP API with the payment providers and no worker. (`Role::Api` refuses the
    /// embedded vector store, which this test does not need.)
    async fn api_only(config: &Config) -> Self {
        let (pool, client) = relivchats::startup::prepare(config).await.unwrap();
        let cipher = Cipher::new(config.encryption_key.expose()).expect("a valid key");
        let state = AppState::new(
            pool,
            Authenticator::new(&config.auth).unwrap(),
            cipher,
            client,
            &config.temporal.task_queue,
            config.api_settings(),
            Vec::new(),
        )
        .unwrap()
        .with_payments(config.payments.providers().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (stop, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, relivchats_api::router(state))
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await?;
            Ok(())
        });
        Self {
            stop,
            server,
            address,
        }
    }

    async fn kill(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_webhook_and_credit_credits_exactly_once_after_restart() {
    let fake = FakePayments::start().await;
    let database = TestDatabase::create().await;
    let mut vars: HashMap<String, String> = fake.env();
    let data_dir = std::env::temp_dir().join(format!("relivchats-test-{}", Uuid::new_v4()));
    database.remove_on_drop(&data_dir);
    for (k, v) in [
        ("ENVIRONMENT", "development".to_owned()),
        ("DATABASE_URL", database.url.clone()),
        ("DATABASE_MAX_CONNECTIONS", "5".to_owned()),
        ("TEMPORAL_ADDRESS", temporal_server::shared_address().await),
        (
            "TEMPORAL_TASK_QUEUE",
            format!("test-{}", Uuid::new_v4().simple()),
        ),
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("DATA_DIR", data_dir.to_string_lossy().into_owned()),
        ("DEV_AUTH_SECRET", "crash-test-secret".to_owned()),
        ("AUTH_MODE", "dev".to_owned()),
    ] {
        vars.insert(k.to_owned(), v);
    }
    let config = Config::from_map(&vars).unwrap();

    // The API receives the webhook and starts the workflow, then dies before any worker ran it.
    let api = Process::api_only(&config).await;
    let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
    let user = UserId::parse("payer-crash").unwrap();
    let (rzp_order, pay) = (unique_id("order"), unique_id("pay"));
    relivchats_api::ledger::ensure_user(&pool, &user, None)
        .await
        .unwrap();
    sqlx::query(
        r#"INSERT INTO payment_orders (id, user_id, package_id, provider, provider_order_id, amount, currency, coins)
           VALUES ($1, $2, $3::UUID, 'razorpay', $4, 39900, 'INR', 400)"#,
    )
    .bind(Uuid::new_v4())
    .bind(user.as_str())
    .bind(STARTER)
    .bind(&rzp_order)
    .execute(&pool)
    .await
    .unwrap();
    let body = razorpay_paid("payment.captured", &rzp_order, &pay, 39_900);
    let http = reqwest::Client::new();
    let send = |address: String| {
        http.post(format!("{address}/api/payments/webhooks/razorpay"))
            .header("X-Razorpay-Event-Id", "evt_crash")
            .header("X-Razorpay-Signature", razorpay_signature(&body))
            .body(body.clone())
            .send()
    };
    let response = send(api.address.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let balance = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i32>(
            "SELECT credit_balance FROM users WHERE user_id = 'payer-crash'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        balance(pool.clone()).await,
        50,
        "no worker has run the top-up yet"
    );
    api.kill().await;

    // After the restart the worker picks the workflow up from Temporal and credits once; the
    // provider's redelivery changes nothing.
    let serve = Process::serve(&config).await;
    wait_until(
        "the credit after the restart",
        Duration::from_secs(60),
        || async { balance(pool.clone()).await == 450 },
    )
    .await;
    let again = send(serve.address.clone()).await.unwrap();
    assert_eq!(again.status(), 200);
    let purchases: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM credit_transactions WHERE type = 'purchase'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(purchases, 1);
    let (sum,): (i64,) = sqlx::query_as(
        "SELECT SUM(amount)::BIGINT FROM credit_transactions WHERE user_id = 'payer-crash'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(sum, 450);

    serve.kill().await;
    pool.close().await;
    database.drop_now().await;
}

/// Whoever can reach Temporal could start `TopUp` with made-up payment details for a pending
/// order. The workflow now reads the payment from the verified webhook event the API stored,
/// so a top-up no webhook backs credits nothing, and one whose input inflates a real
/// payment is judged by the real payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_no_verified_webhook_backs_credits_nothing() {
    use relivchats_domain::contracts::payments::TopUpInput;
    use temporalio_client::WorkflowStartOptions;
    let shop = Shop::open().await;
    let user = "payer-forger";
    let order = shop.order(user, "razorpay").await;
    let order_id: Uuid = order["order_id"].as_str().unwrap().parse().unwrap();
    let start = |payment: &str, event: &str, amount: i64| {
        let input = TopUpInput {
            order_id,
            user_id: user.to_owned(),
            provider: Provider::Razorpay,
            provider_payment_id: payment.to_owned(),
            amount,
            currency: "INR".to_owned(),
            event_id: event.to_owned(),
        };
        let options = WorkflowStartOptions::new(
            shop.app.config.temporal.task_queue.clone(),
            top_up_workflow_id(Provider::Razorpay, payment),
        )
        .build();
        let temporal = shop.app.temporal.clone();
        async move {
            temporal
                .start_workflow(TopUpDefinition, input, options)
                .await
                .unwrap();
        }
    };
    let (invented, short_pay, forged) = (unique_id("pay"), unique_id("pay"), unique_id("pay"));
    start(&invented, "evt_invented", 39_900).await;
    let outcome = shop.top_up_result(Provider::Razorpay, &invented).await;
    assert_eq!(outcome["status"], "skipped", "{outcome}");
    assert_eq!(outcome["coins_credited"], 0);
    assert_eq!(shop.order_status(&order_id.to_string()).await, "pending");

    // A real but short payment, with a forged top-up claiming the full amount for it: the
    // stored event says 100 paise, so the order is flagged and nothing is credited.
    let rzp_order = order["provider_order_id"].as_str().unwrap();
    let short = razorpay_paid("payment.captured", rzp_order, &short_pay, 100);
    let response = shop
        .razorpay_webhook(&short, Some("evt_short"), Some(&razorpay_signature(&short)))
        .await;
    assert_eq!(response.status(), 200);
    let outcome = shop.top_up_result(Provider::Razorpay, &short_pay).await;
    assert_eq!(outcome["status"], "flagged", "{outcome}");
    start(&forged, "evt_short", 39_900).await;
    let outcome = shop.top_up_result(Provider::Razorpay, &forged).await;
    assert_eq!(outcome["coins_credited"], 0, "{outcome}");
    assert_eq!(shop.balance(user).await, BONUS);
    assert_eq!(shop.purchases(user).await, 0);
    shop.app.stop().await;
}
