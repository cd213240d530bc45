//! `generate_insight`: one insight type for one chat — check it applies, retrieve, build the
//! prompt under the token budget, call the model, validate against the type's schema (one
//! repair attempt), and store the content encrypted with its metrics.

use std::time::Instant;

use relivchats_domain::{
    catalogue::InsightTypeSpec,
    contracts::insights::{GenerateInsightInput, GenerateInsightOutput, failure},
    retrieval::{
        Grounding, LlmRequest, LlmResponse, Repair,
        prompt::{self, PromptParts},
        split_keywords,
    },
};
use serde_json::Value;
use uuid::Uuid;

use super::{InsightActivities, InsightFailure};
use relivchats_domain::retrieval::{Llm, ProviderError};

#[derive(sqlx::FromRow)]
struct TypeRow {
    name: String,
    prompt_template: String,
    rag_query_keywords: String,
    response_schema: Value,
    required_metadata_fields: Value,
    supports_group_chats: bool,
    max_participants: Option<i32>,
}

#[derive(sqlx::FromRow)]
struct ChatRow {
    participants: Option<String>,
    chat_metadata: Option<String>,
    participant_count: i32,
    vector_status: String,
}

#[derive(sqlx::FromRow)]
struct InsightRow {
    id: Uuid,
    status: String,
    tokens_used: i32,
    generation_time_ms: i32,
    rag_chunks_used: i32,
    model_used: Option<String>,
}

impl InsightRow {
    fn output(&self) -> GenerateInsightOutput {
        GenerateInsightOutput {
            insight_id: self.id,
            tokens_used: self.tokens_used.max(0) as u32,
            generation_time_ms: self.generation_time_ms.max(0) as u64,
            chunks_used: self.rag_chunks_used.max(0) as u32,
            model_used: self.model_used.clone().unwrap_or_default(),
        }
    }
}

/// The model's output and what it cost, once valid.
#[derive(Debug)]
pub struct Generated {
    pub content: Value,
    pub tokens: u32,
    pub model: String,
}

/// Why [`generate_valid`] has no valid answer.
#[derive(Debug)]
pub enum GenerateError {
    /// The model could not be asked (its own retryable or fatal error).
    Provider(ProviderError),
    /// Still invalid after the one repair: where and which rule, never the value.
    Invalid(Vec<String>),
}

/// Asks the model; an answer that fails the schema gets one repair attempt with the problems
/// quoted. Shared by `generate_insight` and `relivchats eval insights`, so the evaluation
/// measures exactly what the worker does.
pub async fn generate_valid(
    llm: &dyn Llm,
    mut request: LlmRequest,
) -> Result<Generated, GenerateError> {
    let first = llm
        .generate(&request)
        .await
        .map_err(GenerateError::Provider)?;
    let mut tokens = first.prompt_tokens + first.output_tokens;
    let problems = match check(&request.response_schema, &first) {
        Ok(content) => {
            return Ok(Generated {
                content,
                tokens,
                model: first.model,
            });
        }
        Err(problems) => problems,
    };
    tracing::warn!(problems = ?problems, "model output rejected; asking for a repair");
    request.repair = Some(Repair {
        previous_output: first.text,
        problems,
    });
    let second = llm
        .generate(&request)
        .await
        .map_err(GenerateError::Provider)?;
    tokens += second.prompt_tokens + second.output_tokens;
    let content = check(&request.response_schema, &second).map_err(GenerateError::Invalid)?;
    Ok(Generated {
        content,
        tokens,
        model: second.model,
    })
}

impl InsightActivities {
    /// Generates and stores one insight (see the module docs).
    #[tracing::instrument(skip_all, fields(chat_id = %input.chat_id, insight_type_id = %input.insight_type_id), err(Display))]
    pub async fn run_generate_insight(
        &self,
        input: GenerateInsightInput,
    ) -> Result<GenerateInsightOutput, InsightFailure> {
        let started = Instant::now();
        let spec = self.insight_type(input.insight_type_id).await?;
        let chat = self.generation_chat(input.chat_id).await?;
        if !spec_allows(&spec, chat.participant_count) {
            return Err(InsightFailure::fatal(
                failure::NOT_ALLOWED,
                format!(
                    "'{}' is not available for a chat with {} participants",
                    spec.name, chat.participant_count
                ),
            ));
        }
        let row = self.claim(&input).await?;
        if row.status == "completed" {
            return Ok(row.output());
        }
        if chat.vector_status != "completed" {
            return Err(InsightFailure::transient(
                "the chat is not indexed yet (run index_chat first)",
            ));
        }
        let participants: Vec<String> = match &chat.participants {
            Some(p) => self.cipher.decrypt_json(p)?,
            None => Vec::new(),
        };
        let statistics: Value = match &chat.chat_metadata {
            Some(m) => self.cipher.decrypt_json(m)?,
            None => Value::Object(Default::default()),
        };
        let keywords = split_keywords(&spec.rag_query_keywords);
        let excerpts = self.retrieve(input.chat_id, &keywords.join(", ")).await?;
        let assembled = prompt::assemble(PromptParts {
            template: &spec.prompt_template,
            participants: &participants,
            statistics: &statistics,
            required_fields: &spec.required_metadata_fields,
            excerpts: &excerpts,
            token_budget: self.settings.token_budget,
        });
        let used: Vec<_> = assembled
            .used
            .iter()
            .map(|&i| excerpts[i].clone())
            .collect();
        let request = LlmRequest {
            schema_name: spec.name.clone(),
            response_schema: spec.response_schema.clone(),
            prompt: assembled.text,
            grounding: Grounding {
                insight_type: spec.name.clone(),
                participants,
                statistics,
                excerpts: used.clone(),
                keywords,
            },
            repair: None,
        };
        let generated = generate_valid(self.providers.llm.as_ref(), request)
            .await
            .map_err(|e| match e {
                GenerateError::Provider(e) => InsightFailure::from(e),
                GenerateError::Invalid(problems) => InsightFailure::fatal(
                    failure::SCHEMA_VIOLATION,
                    format!(
                        "the model's output still violates the schema after one repair: {}",
                        problems.join("; ")
                    ),
                ),
            })?;
        let elapsed = started.elapsed().as_millis();
        let stored = self
            .store(
                row.id,
                input.job_id.as_deref(),
                &generated,
                elapsed,
                used.len(),
            )
            .await?;
        tracing::info!(model = %generated.model, tokens = generated.tokens, chunks = used.len(), ms = %elapsed, "insight generated");
        Ok(stored.output())
    }

    async fn insight_type(&self, id: Uuid) -> Result<InsightTypeSpec, InsightFailure> {
        let row: TypeRow = sqlx::query_as(
            r#"SELECT name, prompt_template, rag_query_keywords, response_schema, required_metadata_fields,
                      supports_group_chats, max_participants
               FROM insight_types WHERE id = $1 AND is_active"#,
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| InsightFailure::fatal(failure::NOT_ALLOWED, format!("insight type {id} does not exist or is inactive")))?;
        Ok(InsightTypeSpec {
            id,
            name: row.name,
            display_title: String::new(),
            description: None,
            icon: None,
            is_premium: true,
            credit_cost: 0,
            supports_group_chats: row.supports_group_chats,
            max_participants: row.max_participants,
            required_metadata_fields: serde_json::from_value(row.required_metadata_fields)
                .unwrap_or_default(),
            rag_query_keywords: row.rag_query_keywords,
            prompt_template: row.prompt_template,
            response_schema: row.response_schema,
        })
    }

    async fn generation_chat(&self, chat_id: Uuid) -> Result<ChatRow, InsightFailure> {
        sqlx::query_as(
            "SELECT participants, chat_metadata, participant_count, vector_status FROM chats WHERE id = $1 AND NOT is_deleted",
        )
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| InsightFailure::fatal(failure::UNKNOWN_CHAT, format!("chat {chat_id} does not exist")))
    }

    /// Marks the insight `generating` (one more attempt), unless it is already completed.
    async fn claim(&self, input: &GenerateInsightInput) -> Result<InsightRow, InsightFailure> {
        let claimed: Option<InsightRow> = sqlx::query_as(
            r#"INSERT INTO insights (id, chat_id, insight_type_id, job_id, status, attempts)
               VALUES ($1, $2, $3, $4, 'generating', 1)
               ON CONFLICT (chat_id, insight_type_id) DO UPDATE SET
                   status = 'generating', attempts = insights.attempts + 1, error_message = NULL,
                   job_id = COALESCE(EXCLUDED.job_id, insights.job_id), updated_at = now()
               WHERE insights.status <> 'completed'
               RETURNING id, status, tokens_used, generation_time_ms, rag_chunks_used, model_used"#,
        )
        .bind(Uuid::new_v4())
        .bind(input.chat_id)
        .bind(input.insight_type_id)
        .bind(&input.job_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = claimed {
            return Ok(row);
        }
        // The conflict row was completed, so the update was skipped: return it as it is.
        Ok(sqlx::query_as(
            "SELECT id, status, tokens_used, generation_time_ms, rag_chunks_used, model_used FROM insights WHERE chat_id = $1 AND insight_type_id = $2",
        )
        .bind(input.chat_id)
        .bind(input.insight_type_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Stores the content, unless the unlock it belongs to has already settled without being
    /// paid for it (released at its deadline, refunded by an operator, expired): a late
    /// attempt must not hand out an insight for a 0-coin job. The reservation is read under a
    /// share lock, so a capture, release or refund cannot land between the check and the write.
    /// An insight outside any known job (a direct call) is stored as before.
    async fn store(
        &self,
        id: Uuid,
        job_id: Option<&str>,
        generated: &Generated,
        elapsed_ms: u128,
        chunks: usize,
    ) -> Result<InsightRow, InsightFailure> {
        let mut tx = self.pool.begin().await?;
        if let Some(job_id) = job_id {
            let reservation: Option<(String, i32)> = sqlx::query_as(
                r#"SELECT r.status, r.refunded_amount FROM insight_generation_jobs j
                   JOIN coin_reservations r ON r.id = j.reservation_id
                   WHERE j.job_id = $1 FOR SHARE OF r"#,
            )
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((status, refunded)) = reservation
                && !owed(&status, refunded)
            {
                return Err(InsightFailure::fatal(
                    failure::NOT_ALLOWED,
                    format!(
                        "the unlock settled ({status}) before this insight finished; it was not stored"
                    ),
                ));
            }
        }
        let stored: InsightRow = sqlx::query_as(
            r#"UPDATE insights SET status = 'completed', content = $2, tokens_used = $3, generation_time_ms = $4,
                      rag_chunks_used = $5, model_used = $6, error_message = NULL, updated_at = now()
               WHERE id = $1
               RETURNING id, status, tokens_used, generation_time_ms, rag_chunks_used, model_used"#,
        )
        .bind(id)
        .bind(self.cipher.encrypt_json(&generated.content))
        .bind(i32::try_from(generated.tokens).unwrap_or(i32::MAX))
        .bind(i32::try_from(elapsed_ms).unwrap_or(i32::MAX))
        .bind(chunks as i32)
        .bind(&generated.model)
        .fetch_optional(&mut *tx)
        .await?
        // The row went with its chat (deleted mid-generation).
        .ok_or_else(|| InsightFailure::fatal(failure::UNKNOWN_CHAT, "the chat was deleted during generation"))?;
        tx.commit().await?;
        Ok(stored)
    }
}

/// Whether an insight of a job whose reservation is in this state may still be delivered: while
/// the coins are held (the unlock is running), or after a capture nobody refunded (a free retry
/// of a paid unlock).
fn owed(reservation_status: &str, refunded: i32) -> bool {
    match reservation_status {
        "held" => true,
        "captured" => refunded == 0,
        _ => false,
    }
}

fn spec_allows(spec: &InsightTypeSpec, participants: i32) -> bool {
    spec.allows_participants(participants)
}

/// Parses and validates the model's text; `Err` lists what is wrong.
///
/// Each problem names the place in the document and the rule it breaks, never the value: the
/// model writes from the chat, and these messages travel into logs, the Temporal history and
/// `insights.error_message`, none of which may hold chat text.
pub(crate) fn check(schema: &Value, response: &LlmResponse) -> Result<Value, Vec<String>> {
    let text = strip_fences(&response.text);
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![format!(
            "the answer is not valid JSON ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        )]
    })?;
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| vec![format!("the schema does not compile: {e}")])?;
    let problems: Vec<String> = validator
        .iter_errors(&value)
        .take(20)
        .map(|e| describe_violation(&e))
        .collect();
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// "at /summary: breaks `maxLength` (schema /properties/summary/maxLength)": where and which
/// rule, without the offending value.
fn describe_violation(e: &jsonschema::ValidationError<'_>) -> String {
    let schema_path = e.schema_path.to_string();
    let rule = schema_path.rsplit('/').next().unwrap_or_default();
    let at = e.instance_path.to_string();
    let at = if at.is_empty() { "/".to_owned() } else { at };
    format!("at {at}: breaks `{rule}` (schema {schema_path})")
}

/// Some models wrap JSON in a Markdown code fence even in JSON mode.
fn strip_fences(text: &str) -> &str {
    let t = text.trim();
    t.strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|t| t.strip_suffix("```"))
        .map_or(t, str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(text: &str) -> LlmResponse {
        LlmResponse {
            text: text.to_owned(),
            prompt_tokens: 0,
            output_tokens: 0,
            model: "m".into(),
        }
    }

    #[test]
    fn validates_and_explains() {
        let schema = json!({"type": "object", "properties": {"score": {"type": "integer", "maximum": 10}}, "required": ["score"]});
        assert_eq!(
            check(&schema, &response("```json\n{\"score\": 7}\n```")).unwrap()["score"],
            7
        );
        let problems = check(&schema, &response("{\"score\": 11}")).unwrap_err();
        assert_eq!(
            problems,
            vec!["at /score: breaks `maximum` (schema /properties/score/maximum)".to_owned()]
        );
        assert!(check(&schema, &response("not json")).unwrap_err()[0].contains("not valid JSON"));
    }

    /// The chat's words never reach an error message, whatever rule they break.
    #[test]
    fn problems_never_quote_the_output() {
        let schema = json!({"type": "object", "additionalProperties": false,
            "properties": {"quote": {"type": "string", "maxLength": 5, "enum": ["a"]},
                           "n": {"type": "integer"}},
            "required": ["quote", "missing"]});
        let secret = "Priya said the secret plan";
        let text = json!({"quote": secret, "n": secret, "extra secret plan": 1}).to_string();
        let problems = check(&schema, &response(&text)).unwrap_err();
        assert!(problems.len() >= 4, "{problems:?}");
        for p in &problems {
            assert!(!p.contains("secret") && !p.contains("Priya"), "{p}");
        }
        let broken = format!("{{\"quote\": \"{secret}");
        let problems = check(&schema, &response(&broken)).unwrap_err();
        assert!(!problems[0].contains("secret"), "{problems:?}");
    }
}
