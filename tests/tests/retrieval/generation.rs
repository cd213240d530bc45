//! `generate_insight` for every insight type with the offline analyst and fake Gemini and
//! OpenAI-compatible servers, retries, the repair attempt and business failures.

use super::*;

async fn insight_types(app: &TestApp) -> Vec<(Uuid, String, Value)> {
    sqlx::query_as(
        "SELECT id, name, response_schema FROM insight_types WHERE is_active ORDER BY name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Generates every insight type for a fresh indexed chat and checks each stored result.
async fn generate_all(app: &TestApp, expected_model: &str) {
    let token = app.token("insight-owner");
    let chat = upload(app, &token, sample_chat(300, &["Asha", "Ben"])).await;
    let acts = activities(app);
    acts.run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    let cipher = Cipher::new(app.config.encryption_key.expose()).unwrap();
    let types = insight_types(app).await;
    assert_eq!(types.len(), 24);
    for (type_id, name, schema) in types {
        let input = GenerateInsightInput {
            chat_id: chat,
            insight_type_id: type_id,
            job_id: Some("job-1".into()),
        };
        let out = acts
            .run_generate_insight(input.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.model_used, expected_model, "{name}");
        assert!(out.chunks_used > 0, "{name}: retrieval found excerpts");
        let (status, content, attempts): (String, String, i32) =
            sqlx::query_as("SELECT status, content, attempts FROM insights WHERE id = $1")
                .bind(out.insight_id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!((status.as_str(), attempts), ("completed", 1), "{name}");
        let content: Value = cipher.decrypt_json(&content).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&content), "{name}: {content:#}");
        // Idempotent: a completed insight is returned as it is.
        let again = acts.run_generate_insight(input).await.unwrap();
        assert_eq!(again.insight_id, out.insight_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_every_insight_type_with_the_offline_analyst() {
    let app = TestApp::spawn().await;
    generate_all(&app, relivchats_domain::analyst::MODEL_ID).await;
    app.stop().await;
}

fn gemini_vars(fake: &FakeVendor) -> HashMap<String, String> {
    [
        ("LLM_PROVIDER", "gemini"),
        ("EMBEDDING_PROVIDER", "gemini"),
        ("GEMINI_API_KEY", "test-key"),
        ("GEMINI_API_BASE", fake.address.as_str()),
        ("GEMINI_LLM_MODEL", "gemini-2.5-flash"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_every_insight_type_with_fake_gemini() {
    let fake = FakeVendor::start().await;
    let app = TestApp::spawn_with(gemini_vars(&fake)).await;
    generate_all(&app, "gemini-2.5-flash").await;
    assert_eq!(fake.llm_calls(), 24);
    assert!(
        fake.embed_calls() >= 25,
        "chunks and 24 queries were embedded"
    );
    let request = fake.state.last_llm_request.lock().unwrap().clone().unwrap();
    assert_eq!(
        request["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        request["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        0
    );
    assert!(
        request["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Asha")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_every_insight_type_with_a_fake_openai_compatible_server() {
    let fake = FakeVendor::start().await;
    let vars: HashMap<String, String> = [
        ("LLM_PROVIDER", "openai"),
        ("EMBEDDING_PROVIDER", "openai"),
        ("OPENAI_API_BASE", fake.openai_base().as_str()),
        ("OPENAI_MODEL", "qwen2.5:7b"),
        ("OPENAI_EMBEDDING_MODEL", "nomic-embed-text"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let app = TestApp::spawn_with(vars).await;
    generate_all(&app, "qwen2.5:7b").await;
    let request = fake.state.last_llm_request.lock().unwrap().clone().unwrap();
    assert_eq!(request["response_format"]["type"], "json_schema");
    assert!(!request.to_string().contains("propertyOrdering"));
    app.stop().await;
}

/// One chat, indexed, and the id of one insight type, ready for a generation.
async fn one_ready_insight(app: &TestApp) -> (Arc<InsightActivities>, GenerateInsightInput) {
    let token = app.token("retry-owner");
    let chat = upload(app, &token, sample_chat(120, &["Asha", "Ben"])).await;
    let acts = activities(app);
    acts.run_index_chat(IndexChatInput { chat_id: chat }, None)
        .await
        .unwrap();
    let (type_id, ..) = insight_types(app)
        .await
        .into_iter()
        .find(|t| t.1 == "communication_basics")
        .unwrap();
    (
        acts,
        GenerateInsightInput {
            chat_id: chat,
            insight_type_id: type_id,
            job_id: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_the_repair_attempt_against_fake_gemini() {
    let fake = FakeVendor::start().await;
    let app = TestApp::spawn_with(gemini_vars(&fake)).await;
    let (acts, input) = one_ready_insight(&app).await;

    // 503 twice, then an answer: the call succeeds on its third try.
    fake.script(&[Reply::Overloaded, Reply::Overloaded]);
    let before = fake.llm_calls();
    acts.run_generate_insight(input.clone()).await.unwrap();
    assert_eq!(fake.llm_calls() - before, 3);

    // Not JSON twice: one repair, then a non-retryable SchemaViolation.
    sqlx::query("UPDATE insights SET status = 'failed'")
        .execute(&app.pool)
        .await
        .unwrap();
    fake.script(&[Reply::NotJson, Reply::NotJson]);
    let before = fake.llm_calls();
    let err = acts.run_generate_insight(input.clone()).await.unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::SCHEMA_VIOLATION), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(
        fake.llm_calls() - before,
        2,
        "the first answer and one repair"
    );
    let repair = fake.state.last_llm_request.lock().unwrap().clone().unwrap();
    assert!(repair.to_string().contains("CORRECTION NEEDED"));

    // A schema violation repaired on the second try succeeds.
    fake.script(&[Reply::SchemaViolation]);
    acts.run_generate_insight(input.clone()).await.unwrap();

    // 429 with retryDelay: waited for, then answered.
    sqlx::query("UPDATE insights SET status = 'failed'")
        .execute(&app.pool)
        .await
        .unwrap();
    fake.script(&[Reply::RateLimited(1)]);
    let started = std::time::Instant::now();
    acts.run_generate_insight(input.clone()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retryDelay was honoured"
    );

    // Still overloaded after every in-call retry: a retryable failure for Temporal.
    sqlx::query("UPDATE insights SET status = 'failed'")
        .execute(&app.pool)
        .await
        .unwrap();
    fake.script(&[Reply::Overloaded, Reply::Overloaded, Reply::Overloaded]);
    let err = acts.run_generate_insight(input.clone()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");

    // A refused request is final.
    fake.script(&[Reply::BadRequest]);
    let err = acts.run_generate_insight(input.clone()).await.unwrap_err();
    assert_eq!(
        err.failure_type(),
        Some(relivchats_activities::insights::PROVIDER_REJECTED)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_failures_are_classified() {
    let app = TestApp::spawn().await;
    let token = app.token("group-owner");
    let group = upload(&app, &token, sample_chat(90, &["Asha", "Ben", "Chen"])).await;
    let acts = activities(&app);
    acts.run_index_chat(IndexChatInput { chat_id: group }, None)
        .await
        .unwrap();
    let types = insight_types(&app).await;
    let (romantic, ..) = types.iter().find(|t| t.1 == "love_language").unwrap();
    let (group_ok, ..) = types
        .iter()
        .find(|t| t.1 == "communication_basics")
        .unwrap();
    let err = acts
        .run_generate_insight(GenerateInsightInput {
            chat_id: group,
            insight_type_id: *romantic,
            job_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::NOT_ALLOWED), "{err}");
    acts.run_generate_insight(GenerateInsightInput {
        chat_id: group,
        insight_type_id: *group_ok,
        job_id: None,
    })
    .await
    .unwrap();
    let missing = Uuid::new_v4();
    let err: InsightFailure = acts
        .run_index_chat(IndexChatInput { chat_id: missing }, None)
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::UNKNOWN_CHAT));
    let err = acts
        .run_generate_insight(GenerateInsightInput {
            chat_id: missing,
            insight_type_id: *group_ok,
            job_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.failure_type(), Some(failure::UNKNOWN_CHAT));
    app.stop().await;
}
