//! The chat's numbers: each person's statistics (`chat_metadata.user_stats`) and a few
//! measures derived from them (shares, balance).

use serde_json::Value;

use crate::retrieval::Grounding;

/// One participant's numbers, from `chat_metadata.user_stats`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Person {
    pub name: String,
    pub messages: f64,
    pub words: f64,
    pub avg_words: f64,
    pub initiations: f64,
    pub questions: f64,
    pub double_texting: f64,
    pub avg_response_seconds: f64,
}

/// Everything the writer draws on.
#[derive(Debug)]
pub(crate) struct Facts {
    /// Most active first.
    pub people: Vec<Person>,
    pub total_messages: f64,
    pub insight_type: String,
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

impl Facts {
    pub(crate) fn new(g: &Grounding) -> Self {
        let stats = &g.statistics;
        let user_stats = stats.get("user_stats").and_then(Value::as_object);
        let mut people: Vec<Person> = g
            .participants
            .iter()
            .map(|name| {
                let s = user_stats
                    .and_then(|u| u.get(name))
                    .cloned()
                    .unwrap_or(Value::Null);
                Person {
                    name: name.clone(),
                    messages: num(&s, "message_count"),
                    words: num(&s, "word_count"),
                    avg_words: num(&s, "avg_words_per_message"),
                    initiations: num(&s, "conversation_initiations"),
                    questions: num(&s, "questions_asked"),
                    double_texting: num(&s, "double_texting_rate"),
                    avg_response_seconds: num(&s, "avg_response_time_seconds"),
                }
            })
            .collect();
        // Stable sort: equal counts keep the participants' own order.
        people.sort_by(|a, b| b.messages.total_cmp(&a.messages));
        if people.is_empty() {
            people.push(Person {
                name: "the participants".to_owned(),
                ..Person::default()
            });
        }
        Self {
            total_messages: num(stats, "total_messages"),
            insight_type: g.insight_type.clone(),
            people,
        }
    }

    /// Names joined for a sentence: "Asha and Ben", "Asha, Ben and Chen".
    pub(crate) fn names(&self) -> String {
        join_names(self.people.iter().map(|p| p.name.as_str()).collect())
    }

    pub(crate) fn person(&self, i: usize) -> &Person {
        &self.people[i % self.people.len()]
    }

    fn share(&self, pick: impl Fn(&Person) -> f64, i: usize) -> f64 {
        let total: f64 = self.people.iter().map(&pick).sum();
        if total <= 0.0 {
            return 100.0 / self.people.len() as f64;
        }
        pick(self.person(i)) / total * 100.0
    }

    pub(crate) fn message_share(&self, i: usize) -> f64 {
        self.share(|p| p.messages, i)
    }

    pub(crate) fn word_share(&self, i: usize) -> f64 {
        self.share(|p| p.words, i)
    }

    pub(crate) fn initiation_share(&self, i: usize) -> f64 {
        self.share(|p| p.initiations, i)
    }

    /// 1.0 when the two most active people contribute equally, towards 0.0 when one dominates.
    pub(crate) fn balance(&self, pick: impl Fn(&Person) -> f64) -> f64 {
        let mut values: Vec<f64> = self.people.iter().map(pick).collect();
        values.sort_by(|a, b| b.total_cmp(a));
        match values.as_slice() {
            [top, second, ..] if *top > 0.0 => (second / top).clamp(0.0, 1.0),
            _ => 1.0,
        }
    }
}

/// "Asha", "Asha and Ben", "Asha, Ben and Chen".
pub(crate) fn join_names(names: Vec<&str>) -> String {
    match names.as_slice() {
        [] => "the participants".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
