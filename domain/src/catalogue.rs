//! The insight catalogue: categories, insight types and coin packages, as written in `seed/`.
//!
//! The files are parsed and checked here (pure); `relivchats seed` upserts them. A type's
//! `response_schema` is what the LLM must fill and what every output is validated against, so
//! it is checked to compile as JSON Schema and to stay inside the subset every provider accepts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Insight types per category: the unlock saga runs one activity per type.
pub const TYPES_PER_CATEGORY: usize = 6;

/// The only placeholders a prompt template may contain.
pub const PROMPT_PLACEHOLDERS: [&str; 7] = [
    "participants",
    "total_messages",
    "total_days",
    "statistics",
    "excerpts",
    "excerpt_count",
    "data_note",
];

/// JSON-Schema keywords that Gemini's `responseJsonSchema`, OpenAI's `json_schema` and our own
/// validator all understand the same way.
const PORTABLE_KEYWORDS: [&str; 11] = [
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "description",
    "propertyOrdering",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategorySpec {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub credit_cost: i32,
    pub sort_order: i32,
    /// Insight type names, in display order.
    pub insight_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightTypeSpec {
    pub id: Uuid,
    pub name: String,
    pub display_title: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    #[serde(default = "yes")]
    pub is_premium: bool,
    pub credit_cost: i32,
    pub supports_group_chats: bool,
    pub max_participants: Option<i32>,
    pub required_metadata_fields: Vec<String>,
    pub rag_query_keywords: String,
    pub prompt_template: String,
    pub response_schema: Value,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageSpec {
    pub id: Uuid,
    pub name: String,
    pub coins: i32,
    /// Decimal strings ("4.99"): money never passes through a float.
    pub price_usd: String,
    pub price_inr: String,
    pub description: Option<String>,
    pub is_popular: bool,
    pub sort_order: i32,
}

/// The whole seed, checked for consistency.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub categories: Vec<CategorySpec>,
    pub insight_types: BTreeMap<String, InsightTypeSpec>,
    pub packages: Vec<PackageSpec>,
}

impl InsightTypeSpec {
    /// Whether a chat with `participants` people may get this insight.
    pub fn allows_participants(&self, participants: i32) -> bool {
        allows_participants(
            self.supports_group_chats,
            self.max_participants,
            participants,
        )
    }
}

/// The group rule of an insight type: more than two people needs `supports_group_chats`, and
/// never more than `max_participants`.
pub fn allows_participants(
    supports_group_chats: bool,
    max_participants: Option<i32>,
    participants: i32,
) -> bool {
    (participants <= 2 || supports_group_chats)
        && max_participants.is_none_or(|max| participants <= max)
}

/// Replaces each `{placeholder}` of a template with its value; unknown names stay as written.
pub fn render_prompt(template: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if values.contains_key(&after[..close]) => {
                out.push_str(&values[&after[..close]]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Catalogue {
    /// Parses the seed files and checks every cross-reference, id and schema.
    pub fn parse(
        categories_json: &str,
        packages_json: &str,
        insight_type_jsons: &[(&str, &str)],
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let categories: Vec<CategorySpec> = serde_json::from_str(categories_json)
            .map_err(|e| vec![format!("categories.json: {e}")])?;
        let packages: Vec<PackageSpec> =
            serde_json::from_str(packages_json).map_err(|e| vec![format!("packages.json: {e}")])?;
        let mut insight_types = BTreeMap::new();
        for (file, json) in insight_type_jsons {
            match serde_json::from_str::<InsightTypeSpec>(json) {
                Ok(spec) => {
                    problems.extend(
                        check_insight_type(&spec)
                            .into_iter()
                            .map(|p| format!("{file}: {p}")),
                    );
                    if insight_types.insert(spec.name.clone(), spec).is_some() {
                        problems.push(format!("{file}: duplicate insight type name"));
                    }
                }
                Err(e) => problems.push(format!("{file}: {e}")),
            }
        }
        let catalogue = Self {
            categories,
            insight_types,
            packages,
        };
        problems.extend(catalogue.check_references());
        if problems.is_empty() {
            Ok(catalogue)
        } else {
            Err(problems)
        }
    }

    fn check_references(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut ids = BTreeSet::new();
        let mut linked = BTreeSet::new();
        for c in &self.categories {
            if !ids.insert(c.id) {
                problems.push(format!("category {}: id {} is used twice", c.name, c.id));
            }
            if c.credit_cost <= 0 {
                problems.push(format!("category {}: credit_cost must be positive", c.name));
            }
            if c.insight_types.len() != TYPES_PER_CATEGORY {
                problems.push(format!(
                    "category {}: has {} insight types, expected {TYPES_PER_CATEGORY}",
                    c.name,
                    c.insight_types.len()
                ));
            }
            for t in &c.insight_types {
                if !self.insight_types.contains_key(t) {
                    problems.push(format!("category {}: unknown insight type {t}", c.name));
                }
                if !linked.insert(t.clone()) {
                    problems.push(format!(
                        "insight type {t} is linked to more than one category"
                    ));
                }
            }
        }
        for t in self.insight_types.values() {
            if !ids.insert(t.id) {
                problems.push(format!(
                    "insight type {}: id {} is used twice",
                    t.name, t.id
                ));
            }
        }
        for p in &self.packages {
            if !ids.insert(p.id) {
                problems.push(format!("package {}: id {} is used twice", p.name, p.id));
            }
            for price in [&p.price_usd, &p.price_inr] {
                if !is_decimal_price(price) {
                    problems.push(format!(
                        "package {}: price {price:?} is not a decimal",
                        p.name
                    ));
                }
            }
        }
        problems
    }

    /// The insight types of a category, in display order.
    pub fn types_of<'a>(
        &'a self,
        category: &'a CategorySpec,
    ) -> impl Iterator<Item = &'a InsightTypeSpec> {
        category
            .insight_types
            .iter()
            .filter_map(|n| self.insight_types.get(n))
    }
}

fn is_decimal_price(raw: &str) -> bool {
    let mut parts = raw.split('.');
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next().unwrap_or("00");
    parts.next().is_none()
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Checks one insight type: its schema compiles, stays portable, and its template only uses
/// known placeholders.
pub fn check_insight_type(spec: &InsightTypeSpec) -> Vec<String> {
    let mut problems = Vec::new();
    if spec.response_schema.get("type") != Some(&Value::String("object".into())) {
        problems.push("response_schema must be an object schema".to_owned());
    }
    if let Err(e) = jsonschema::validator_for(&spec.response_schema) {
        problems.push(format!("response_schema does not compile: {e}"));
    }
    check_portable(&spec.response_schema, "$", &mut problems);
    problems.extend(check_template(&spec.prompt_template));
    if spec
        .rag_query_keywords
        .split(',')
        .filter(|k| !k.trim().is_empty())
        .count()
        < 5
    {
        problems.push("rag_query_keywords needs at least five cues".to_owned());
    }
    problems
}

fn check_portable(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        problems.push(format!("{path}: a schema must be an object"));
        return;
    };
    for key in obj.keys() {
        if !PORTABLE_KEYWORDS.contains(&key.as_str()) {
            problems.push(format!("{path}: keyword {key:?} is not portable"));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            check_portable(sub, &format!("{path}.{name}"), problems);
        }
        let required = obj.get("required").and_then(Value::as_array);
        for r in required.into_iter().flatten() {
            if !r.as_str().is_some_and(|r| props.contains_key(r)) {
                problems.push(format!("{path}: required key {r} is not a property"));
            }
        }
    }
    if let Some(items) = obj.get("items") {
        check_portable(items, &format!("{path}[]"), problems);
    }
}

/// Every `{…}` in a template must be a known placeholder: a stray brace would reach the model.
pub fn check_template(template: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        if rest[i..].starts_with('}') {
            problems.push("prompt_template has a stray '}'".to_owned());
            rest = &rest[i + 1..];
            continue;
        }
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(close) if PROMPT_PLACEHOLDERS.contains(&&after[..close]) => {
                rest = &after[close + 1..];
            }
            close => {
                problems.push(format!(
                    "prompt_template has an unknown placeholder near {:?}",
                    after.chars().take(20).collect::<String>()
                ));
                rest = close.map_or(after, |c| &after[c + 1..]);
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_known_placeholders_only() {
        let values = BTreeMap::from([("participants", "Asha, Ben".to_owned())]);
        assert_eq!(
            render_prompt("Hi {participants} {x}", &values),
            "Hi Asha, Ben {x}"
        );
    }

    #[test]
    fn template_checker_rejects_stray_braces() {
        assert!(check_template("People: {participants}; stats {statistics}").is_empty());
        assert_eq!(check_template("{\"json\": 1}").len(), 1);
        assert_eq!(check_template("a } b").len(), 1);
        assert_eq!(check_template("open { only").len(), 1);
        assert_eq!(check_template("{unknown}").len(), 1);
    }

    #[test]
    fn portable_schema_checker_flags_refs_and_missing_required() {
        let mut problems = Vec::new();
        let schema =
            json!({"type": "object", "properties": {"a": {"$ref": "#/x"}}, "required": ["a", "b"]});
        check_portable(&schema, "$", &mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn group_rules() {
        let spec = InsightTypeSpec {
            id: Uuid::nil(),
            name: "t".into(),
            display_title: "T".into(),
            description: None,
            icon: None,
            is_premium: true,
            credit_cost: 100,
            supports_group_chats: false,
            max_participants: Some(2),
            required_metadata_fields: vec![],
            rag_query_keywords: String::new(),
            prompt_template: String::new(),
            response_schema: json!({"type": "object"}),
        };
        assert!(spec.allows_participants(2));
        assert!(!spec.allows_participants(3));
        let group = InsightTypeSpec {
            supports_group_chats: true,
            max_participants: None,
            ..spec
        };
        assert!(group.allows_participants(40));
    }

    #[test]
    fn decimal_prices() {
        assert!(is_decimal_price("4.99"));
        assert!(is_decimal_price("399.00"));
        assert!(is_decimal_price("399"));
        assert!(!is_decimal_price("4.999"));
        assert!(!is_decimal_price("abc"));
    }
}
