//! `relivchats eval insights [DIR]`: runs the configured model provider (`LLM_PROVIDER`:
//! the offline analyst by default, or Gemini, or any OpenAI-compatible server) over the
//! labelled chats in DIR and prints how its insights compare with the labels
//! (`relivchats_domain::analyst::eval`). Requests are built as the worker builds them, and an
//! answer that fails its schema gets the same one repair attempt.
//!
//! Which insight field each label is read from, by category, is in
//! `relivchats_domain::analyst::eval` (`source`); the labels' format is described in
//! `tests/fixtures/insight-eval/README.md`.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, bail};
use relivchats_domain::{
    analyst::eval::{self, Answer, EvalChat, Report},
    catalogue::InsightTypeSpec,
    retrieval::{Llm, LlmRequest},
};
use serde_json::Value;

use crate::providers::ProviderConfig;

/// The labelled set shipped with the repository.
pub const DEFAULT_DIR: &str = "tests/fixtures/insight-eval";

/// Reads every `<name>.txt` with its `<name>.json` labels in `dir`, sorted by name.
pub fn load(dir: &Path) -> anyhow::Result<Vec<EvalChat>> {
    let mut chats = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    for path in paths {
        let labels_path = path.with_extension("json");
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let labels = std::fs::read_to_string(&labels_path)
            .with_context(|| format!("{name} has no labels at {}", labels_path.display()))?;
        let labels = serde_json::from_str(&labels)
            .with_context(|| format!("{} is not a valid label file", labels_path.display()))?;
        chats.push(EvalChat { name, text, labels });
    }
    if chats.is_empty() {
        bail!(
            "{} holds no labelled chats (<name>.txt with <name>.json)",
            dir.display()
        );
    }
    Ok(chats)
}

/// Runs the provider configured by `vars` over the chats in `dir` and scores it.
pub async fn insights(dir: &Path, vars: &HashMap<String, String>) -> anyhow::Result<Report> {
    let chats = load(dir)?;
    let catalogue = crate::seed::catalogue()?;
    let providers = ProviderConfig::from_vars(vars)?;
    let llm = providers.llm()?;
    let mut answers = Vec::new();
    for chat in &chats {
        let category = catalogue
            .categories
            .iter()
            .find(|c| c.name == chat.labels.category)
            .with_context(|| {
                format!("{}: unknown category {:?}", chat.name, chat.labels.category)
            })?;
        let types: Vec<InsightTypeSpec> = catalogue.types_of(category).cloned().collect();
        let requests = eval::requests(
            chat,
            &types,
            providers.rag_top_k,
            providers.rag_token_budget,
        )
        .map_err(anyhow::Error::msg)?;
        for request in requests {
            let started = Instant::now();
            let content = generate_valid(llm.as_ref(), request.clone()).await;
            answers.push(Answer {
                chat: chat.name.clone(),
                insight_type: request.schema_name.clone(),
                content,
                micros: started.elapsed().as_micros(),
            });
        }
    }
    Ok(eval::score(llm.model(), &chats, &answers))
}

/// The model's answer, validated, with one repair attempt: the worker's own
/// [`relivchats_activities::insights::generate_valid`].
async fn generate_valid(llm: &dyn Llm, request: LlmRequest) -> Result<Value, String> {
    use relivchats_activities::insights::{GenerateError, generate_valid};
    match generate_valid(llm, request).await {
        Ok(generated) => Ok(generated.content),
        Err(GenerateError::Provider(e)) => Err(e.to_string()),
        Err(GenerateError::Invalid(problems)) => {
            Err(format!("invalid after one repair: {}", problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command's own path (catalogue from the binary, provider from the variables) on
    /// the shipped labelled set, with the offline analyst: it meets the goals.
    #[tokio::test]
    async fn the_offline_analyst_meets_the_goals_on_the_labelled_set() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(DEFAULT_DIR);
        let vars = HashMap::from([("LLM_PROVIDER".to_owned(), "offline".to_owned())]);
        let report = insights(&dir, &vars).await.unwrap();
        println!("{report}");
        assert!(report.chats >= 12);
        assert!(report.missed_goals().is_empty(), "{report}");
    }

    #[test]
    fn a_missing_directory_is_a_sentence() {
        let err = load(Path::new("/nonexistent/insight-eval")).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot read /nonexistent/insight-eval")
        );
    }
}
