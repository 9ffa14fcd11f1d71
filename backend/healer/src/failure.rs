//! The healer's view of a failed step (`FailureContext`), the repair candidates it produces and
//! the `Generator` trait every repair source implements. Also builds the `ctx` object the sandbox
//! hands to a repair script, so the script sees exactly what the generator saw.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The outbound request as the step sent it (secrets already redacted by the caller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// What the vendor answered, if it answered at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSeen {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body_text: String,
    pub body_json: Option<Value>,
}

impl ResponseSeen {
    /// First header with this name, compared case-insensitively as HTTP requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The media type without parameters, lower-cased (`application/json`).
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// Everything a generator may look at. `contract` is the step's output JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureContext {
    pub input: Value,
    pub contract: Value,
    pub request: Exchange,
    pub response: Option<ResponseSeen>,
    pub violations: Vec<String>,
}

impl FailureContext {
    /// The `ctx` argument of `repair(ctx)`, in the shape the sandbox documents.
    pub fn sandbox_ctx(&self) -> Value {
        let response = match &self.response {
            Some(r) => json!({
                "status": r.status,
                "headers": lower_headers(&r.headers),
                "body": r.body_json.clone().unwrap_or(Value::Null),
                "text": r.body_text,
            }),
            None => Value::Null,
        };
        json!({
            "input": self.input,
            "contract": self.contract,
            "request": {
                "method": self.request.method,
                "url": self.request.url,
                "headers": lower_headers(&self.request.headers),
                "body": self.request.body.clone().unwrap_or(Value::Null),
            },
            "response": response,
        })
    }

    /// The same failure as if the vendor had answered `body` with 200: how the pipeline asks the
    /// response-mapping generator about a body that another repair fetched (see
    /// [`crate::compose`]).
    pub fn with_response_body(&self, body: Value) -> FailureContext {
        let mut next = self.clone();
        next.response = Some(ResponseSeen {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body_text: body.to_string(),
            body_json: Some(body),
        });
        next
    }
}

/// One repair script proposed by a generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `heuristic:<name>` or `llm:<model>`.
    pub generator: String,
    /// One human sentence saying what changed.
    pub diagnosis: String,
    /// An ES module exporting `default async function repair(ctx)`.
    pub source: String,
}

/// A source of repair candidates. Async because the LLM generator calls a model.
#[async_trait::async_trait]
pub trait Generator: Send + Sync {
    fn name(&self) -> &'static str;
    async fn generate(&self, failure: &FailureContext) -> Vec<Candidate>;
}

pub(crate) fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn lower_headers(headers: &[(String, String)]) -> Value {
    let mut map = Map::new();
    for (k, v) in headers {
        map.entry(k.to_ascii_lowercase())
            .or_insert_with(|| Value::String(v.clone()));
    }
    Value::Object(map)
}
