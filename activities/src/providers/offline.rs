//! Providers that need no key, no network and no model download: a hashed n-gram embedder
//! and the offline analyst (the domain's schema-driven insight writer).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use async_trait::async_trait;
use cpu_time::ThreadTime;
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
    ///
    /// Indexing embeds every chunk of a chat, so this allocates once per text (the lower-cased
    /// words, side by side) rather than once per feature; the features, their order and so the
    /// vectors are exactly those of the plain formulation (`reference_vector` in the tests).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension];
        let mut lower = String::with_capacity(text.len());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for word in raw_words(text) {
            let start = lower.len();
            push_lowercase(&mut lower, word);
            spans.push((start, lower.len()));
        }
        for &(start, end) in &spans {
            let w = &lower[start..end];
            self.add_hash(&mut v, fnv1a_from(FNV_OFFSET, w.as_bytes()), 1.0);
            // Trigrams of "#word#", through a sliding three-char window.
            let mut window = ['#'; 3];
            let padded = std::iter::once('#')
                .chain(w.chars())
                .chain(std::iter::once('#'));
            for (seen, c) in padded.enumerate() {
                window = [window[1], window[2], c];
                if seen < 2 {
                    continue;
                }
                let mut h = FNV_OFFSET;
                let mut buf = [0u8; 4];
                for ch in window {
                    h = fnv1a_from(h, ch.encode_utf8(&mut buf).as_bytes());
                }
                self.add_hash(&mut v, h, 0.35);
            }
        }
        for pair in spans.windows(2) {
            let h = fnv1a_from(FNV_OFFSET, &lower.as_bytes()[pair[0].0..pair[0].1]);
            let h = fnv1a_from(h, b" ");
            let h = fnv1a_from(h, &lower.as_bytes()[pair[1].0..pair[1].1]);
            self.add_hash(&mut v, h, 0.7);
        }
        super::http::normalise(v)
    }

    fn add_hash(&self, v: &mut [f32], h: u64, weight: f32) {
        let index = (h % self.dimension as u64) as usize;
        // The sign bit spreads collisions around zero instead of piling them up.
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[index] += sign * weight;
    }
}

/// The words of a text as written, before lower-casing: split at anything but letters, digits
/// and apostrophes, all-digit words (the chunk lines' timestamps) left out.
fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
}

/// `out += word.to_lowercase()` without a temporary; a word with a capital sigma (whose
/// lower case depends on its position) takes the standard library's path.
fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else if word.contains('Σ') {
        out.push_str(&word.to_lowercase());
    } else {
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a_from(mut h: u64, bytes: &[u8]) -> u64 {
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

/// CPU time this process has spent inside the offline analyst, in nanoseconds.
///
/// The analyst runs inline (nothing inside `write_insight` awaits), so the calling thread's CPU
/// clock measures exactly its work, whatever else the runtime's threads do meanwhile. The unlock
/// bench reads it to report the analyst's share of the process's CPU per unlock; a process-wide
/// counter is enough there, since one process never runs two analysts.
static ANALYST_CPU_NANOS: AtomicU64 = AtomicU64::new(0);

/// The CPU time this process has spent writing insights with the offline analyst so far.
pub fn analyst_cpu_time() -> Duration {
    Duration::from_nanos(ANALYST_CPU_NANOS.load(Ordering::Relaxed))
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
        let started = ThreadTime::now();
        let value = analyst::write_insight(&request.response_schema, &request.grounding);
        ANALYST_CPU_NANOS.fetch_add(
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
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

    /// The plain formulation `vector` must keep matching exactly: stored vectors were made
    /// with it, so a different feature order or hash would silently degrade search.
    fn reference_vector(e: &HashedEmbedder, text: &str) -> Vec<f32> {
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
        let add = |v: &mut [f32], feature: &[u8], weight: f32| {
            let h = fnv1a(feature);
            let index = (h % e.dimension as u64) as usize;
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[index] += sign * weight;
        };
        let mut v = vec![0.0f32; e.dimension];
        let words: Vec<String> = words(text).collect();
        for w in &words {
            add(&mut v, w.as_bytes(), 1.0);
            let padded = format!("#{w}#");
            let chars: Vec<char> = padded.chars().collect();
            for tri in chars.windows(3) {
                add(&mut v, tri.iter().collect::<String>().as_bytes(), 0.35);
            }
        }
        for pair in words.windows(2) {
            add(&mut v, format!("{} {}", pair[0], pair[1]).as_bytes(), 0.7);
        }
        crate::providers::http::normalise(v)
    }

    #[test]
    fn vectors_match_the_plain_formulation_bit_for_bit() {
        let e = HashedEmbedder::new(384);
        let texts = [
            "",
            "a",
            "I",
            "[2024-01-02 10:00] Asha: let's plan the trip next weekend!",
            "ÇA VA? Très bien, MERCI 😂😂",
            "ΟΔΟΣ Σίσυφος ΣΑΣ",
            "İstanbul'da ŞİMDİ",
            "accha acha yaar, kal milte hain 🙏",
            "2024 10 00 99",
            "don't stop me now... can't won't",
            "日本語のテキスト と English mixed",
            "ǅemal ǈubica ß ẞ",
        ];
        for t in texts {
            assert_eq!(e.vector(t), reference_vector(&e, t), "{t:?}");
        }
        // And on a longer, chunk-like text.
        let chunk: String = texts
            .iter()
            .map(|t| format!("[2024-01-02 10:00] Ben: {t}\n"))
            .collect();
        assert_eq!(e.vector(&chunk), reference_vector(&e, &chunk));
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
