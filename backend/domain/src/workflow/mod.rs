//! The workflow definition model: a Serverless Workflow DSL 1.0 subset parsed from YAML or JSON,
//! validated with every problem reported at its JSON pointer, and compiled once (expressions,
//! templates, schemas) so the engine never re-parses a definition on the hot path.

mod duration;
mod validate;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::Schema;
use crate::expr::{Expr, Template};

pub use duration::parse_iso8601_duration;

/// How a definition's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Yaml,
    Json,
}

impl SourceFormat {
    /// The format a `Content-Type` announces; YAML for the various YAML media types.
    pub fn from_content_type(content_type: &str) -> Option<SourceFormat> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some(SourceFormat::Json),
            "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => {
                Some(SourceFormat::Yaml)
            }
            other if other.ends_with("+json") => Some(SourceFormat::Json),
            other if other.ends_with("+yaml") => Some(SourceFormat::Yaml),
            _ => None,
        }
    }
}

/// Why a definition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionError {
    /// The text is not well-formed YAML/JSON (positions are 1-based).
    Syntax {
        message: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    /// Well-formed, but not a definition Suture can run; every problem found is listed.
    Invalid { problems: Vec<DefinitionProblem> },
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefinitionError::Syntax {
                message,
                line: Some(line),
                column,
            } => {
                write!(f, "syntax error at line {line}")?;
                if let Some(column) = column {
                    write!(f, ", column {column}")?;
                }
                write!(f, ": {message}")
            }
            DefinitionError::Syntax { message, .. } => write!(f, "syntax error: {message}"),
            DefinitionError::Invalid { problems } => {
                write!(f, "invalid definition ({} problem", problems.len())?;
                if problems.len() != 1 {
                    f.write_str("s")?;
                }
                f.write_str(")")?;
                for problem in problems {
                    write!(f, "; {problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DefinitionError {}

/// One thing wrong with a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionProblem {
    /// JSON pointer into the definition, e.g. `/do/1/notify/call`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for DefinitionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// A parsed, validated and compiled workflow definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub document: Document,
    /// The workflow input: its schema and a transformation.
    pub input: Option<DataIn>,
    /// The workflow output: a transformation and its schema.
    pub output: Option<DataOut>,
    /// The top-level `do` list, in order.
    pub tasks: Vec<TaskDef>,
    /// `metadata.suture` of the document.
    pub suture: SutureSettings,
    /// `schedule.cron`, checked to be 5- or 6-field cron text (or an `@daily`-style macro).
    pub schedule_cron: Option<String>,
    /// Workflow-level `timeout.after`: the budget of a whole run.
    pub timeout: Option<Duration>,
    /// The definition as JSON, as written (what the API returns and stores).
    pub normalized: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub dsl: String,
    pub namespace: String,
    pub name: String,
    pub version: String,
    pub title: Option<String>,
}

/// `input: { from, schema }`: the schema is checked on the raw input, then `from` shapes it.
#[derive(Debug, Clone)]
pub struct DataIn {
    pub schema: Option<Schema>,
    pub from: Option<Template>,
}

/// `output: { as, schema }`: `as` shapes the result, then the schema is checked on it.
#[derive(Debug, Clone)]
pub struct DataOut {
    pub schema: Option<Schema>,
    pub as_: Option<Template>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SutureSettings {
    pub heal: Option<HealMode>,
    /// Whether catalog substitutions may stand in for a tool that is down. Defaults to true:
    /// the tenant's substitution rules (each with its own enabled flag) are the real switch,
    /// and a definition opts out with `substitute: false`.
    pub substitute: bool,
    pub webhook: Option<WebhookSettings>,
}

impl Default for SutureSettings {
    fn default() -> Self {
        Self {
            heal: None,
            substitute: true,
            webhook: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealMode {
    /// Apply a validated repair and continue.
    Auto,
    /// Park the run in `waiting_approval` with the candidate repair.
    Suggest,
    /// Fail.
    Off,
}

impl HealMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            HealMode::Auto => "auto",
            HealMode::Suggest => "suggest",
            HealMode::Off => "off",
        }
    }

    pub fn parse(text: &str) -> Option<HealMode> {
        match text {
            "auto" => Some(HealMode::Auto),
            "suggest" => Some(HealMode::Suggest),
            "off" => Some(HealMode::Off),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub signature: Option<SignatureScheme>,
    pub respond: RespondMode,
    /// How long a synchronous webhook waits for the run's output.
    pub sync_timeout_ms: u64,
}

pub const DEFAULT_SYNC_TIMEOUT_MS: u64 = 10_000;

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            signature: None,
            respond: RespondMode::Async,
            sync_timeout_ms: DEFAULT_SYNC_TIMEOUT_MS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignatureScheme {
    /// `webhook-id` / `webhook-timestamp` / `webhook-signature` with a `whsec_` secret.
    #[serde(rename = "standard-webhooks")]
    StandardWebhooks,
    /// `X-Hub-Signature-256`.
    #[serde(rename = "github")]
    Github,
}

impl SignatureScheme {
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::StandardWebhooks => "standard-webhooks",
            SignatureScheme::Github => "github",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RespondMode {
    /// `202 {run_id}` at once.
    #[default]
    Async,
    /// The run's output, waiting up to `sync_timeout_ms`.
    Sync,
}

/// One task of the `do` list.
#[derive(Debug, Clone)]
pub struct TaskDef {
    pub name: String,
    /// JSON pointer of the task, e.g. `/do/0/getContact` (also the `instance` of its errors).
    pub pointer: String,
    pub r#if: Option<Expr>,
    pub input: Option<DataIn>,
    pub output: Option<DataOut>,
    pub export_as: Option<Template>,
    pub then: Option<FlowDirective>,
    pub timeout: Option<Duration>,
    /// `metadata.suture.heal` on the task.
    pub heal: Option<HealMode>,
    pub kind: TaskKind,
}

/// What comes after a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowDirective {
    Continue,
    Exit,
    End,
    /// Jump to the sibling task of that name (checked to exist).
    Goto(String),
}

#[derive(Debug, Clone)]
pub enum TaskKind {
    Http(HttpCall),
    Set(Template),
    Script(ScriptTask),
}

#[derive(Debug, Clone)]
pub struct HttpCall {
    /// Upper-case, e.g. `GET`.
    pub method: String,
    /// Evaluates to the URI string.
    pub endpoint: Template,
    pub headers: Option<Template>,
    pub query: Option<Template>,
    pub body: Option<Template>,
    pub output: HttpOutput,
    /// Follow redirects (DSL default: false).
    pub redirect: bool,
}

impl HttpCall {
    /// GET and HEAD have no side effects, so healing them cannot duplicate a write.
    pub fn is_read(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

/// What an HTTP call task outputs (DSL `with.output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpOutput {
    /// The decoded body.
    #[default]
    Content,
    /// `{request, statusCode, headers, content}`.
    Response,
    /// The body as base64.
    Raw,
}

#[derive(Debug, Clone)]
pub struct ScriptTask {
    /// `js` or `javascript`, as written.
    pub language: String,
    pub code: String,
    pub arguments: Option<Template>,
}

impl Definition {
    /// Heal mode of a task: the task's override, else the document's, else `auto` for reads
    /// (GET/HEAD calls) and `suggest` for everything else.
    pub fn heal_mode_for(&self, task: &TaskDef) -> HealMode {
        task.heal.or(self.suture.heal).unwrap_or(match &task.kind {
            TaskKind::Http(call) if call.is_read() => HealMode::Auto,
            _ => HealMode::Suggest,
        })
    }

    pub fn task(&self, name: &str) -> Option<&TaskDef> {
        self.tasks.iter().find(|task| task.name == name)
    }

    pub fn task_index(&self, name: &str) -> Option<usize> {
        self.tasks.iter().position(|task| task.name == name)
    }
}

/// Parse, validate and compile a definition.
pub fn parse_definition(text: &str, format: SourceFormat) -> Result<Definition, DefinitionError> {
    let value = match format {
        SourceFormat::Json => {
            serde_json::from_str::<Value>(text).map_err(|error| DefinitionError::Syntax {
                message: error.to_string(),
                line: Some(error.line()),
                column: Some(error.column()),
            })?
        }
        SourceFormat::Yaml => serde_norway::from_str::<Value>(text).map_err(|error| {
            let location = error.location();
            DefinitionError::Syntax {
                message: error.to_string(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
            }
        })?,
    };
    definition_from_value(value)
}

/// Validate and compile a definition already decoded to JSON (e.g. one stored by the server).
pub fn definition_from_value(value: Value) -> Result<Definition, DefinitionError> {
    validate::check(value).map_err(|problems| DefinitionError::Invalid { problems })
}
