//! Providers that need no key, no network and no model download: a hashed n-gram embedder
//! and the offline analyst (the domain's schema-driven insight writer).

use async_trait::async_trait;
use relivchats_domain::{
    analyst,
    retrieval::{EmbedPurpose, Embedder, Llm, LlmRequest, LlmResponse, ProviderError},
};

/// Identity recorded for vectors made by [`HashedEmbedder`].
pub const HASHED_MODEL: &str = "hashed-ngrams-v1";

/// Dense vectors from hashed words, word pairs and character trigrams ("feature hashing"):
/// similar wording lands on similar vectors, spelling variants (Hinglish "accha"/"acha")
/// share trigrams, and it is deterministic and fast. Keyword precision comes from the
/// store's BM25 side where it has one.
#[derive(Debug, Clone)]
pub struct HashedEmbedder {
    dimension: usize,
}

impl HashedEmbedder {
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension: dimension.max(16),
        }
    }

    /// One vector, L2-normalised (all zeros for a text with no words).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension];
        let words: Vec<String> = words(text).collect();
        for w in &words {
            self.add(&mut v, w.as_bytes(), 1.0);
            let padded = format!("#{w}#");
            let chars: Vec<char> = padded.chars().collect();
            for tri in chars.windows(3) {
                self.add(&mut v, tri.iter().collect::<String>().as_bytes(), 0.35);
            }
        }
        for pair in words.windows(2) {
            self.add(&mut v, format!("{} {}", pair[0], pair[1]).as_bytes(), 0.7);
        }
        super::http::normalise(v)
    }

    fn add(&self, v: &mut [f32], feature: &[u8], weight: f32) {
        let h = fnv1a(feature);
        let index = (h % self.dimension as u64) as usize;
        // The sign bit spreads collisions around zero instead of piling them up.
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[index] += sign * weight;
    }
}

/// Lower-case words, with the chunk lines' timestamps (all digits) left out.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[async_trait]
impl Embedder for HashedEmbedder {
    fn model(&self) -> &str {
        HASHED_MODEL
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn max_batch(&self) -> usize {
        256
    }

    async fn embed(
        &self,
        texts: &[String],
        _purpose: EmbedPurpose,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// The offline analyst as an [`Llm`]: writes the insight from the grounding, ignoring prose.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineAnalyst;

#[async_trait]
impl Llm for OfflineAnalyst {
    fn model(&self) -> &str {
        analyst::MODEL_ID
    }

    async fn generate(&self, request: &LlmRequest) -> Result<LlmResponse, ProviderError> {
        let value = analyst::write_insight(&request.response_schema, &request.grounding);
        Ok(LlmResponse {
            text: value.to_string(),
            // No model ran, so no tokens were spent.
            prompt_tokens: 0,
            output_tokens: 0,
            model: analyst::MODEL_ID.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn similar_texts_are_closer_than_unrelated_ones() {
        let e = HashedEmbedder::new(384);
        let q = e.vector("plan a trip for next weekend");
        let near = e.vector("[2024-01-02 10:00] Asha: let's plan the trip next weekend!");
        let far = e.vector("[2024-01-02 10:00] Ben: the invoice is overdue, pay it today");
        assert!(cosine(&q, &near) > cosine(&q, &far) + 0.1);
        assert!((cosine(&near, &near) - 1.0).abs() < 1e-4);
        assert_eq!(e.vector("2024 10 00"), vec![0.0; 384]);
    }
}
