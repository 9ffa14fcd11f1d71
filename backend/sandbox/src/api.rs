//! The engine-neutral contract: what a caller hands the sandbox, what it gets back, and the
//! [`Engine`] trait a second engine (V8, where a build can fetch it) would implement.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Budgets of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub wall_time: Duration,
    pub memory_bytes: usize,
    pub max_output_bytes: usize,
    pub max_fetches: u32,
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wall_time: Duration::from_secs(2),
            memory_bytes: 32 * 1024 * 1024,
            max_output_bytes: 1024 * 1024,
            max_fetches: 8,
            max_log_bytes: 64 * 1024,
        }
    }
}

/// How `source` is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptKind {
    /// An ES module with `export default async function repair(ctx)`; `ctx` is the request's
    /// `ctx` value.
    Repair,
    /// A function body with `input` in scope (top-level `await` allowed); `return` gives the output.
    Task,
}

/// Headers the host adds to fetches to one `host:port`; the script never sees them.
#[derive(Clone, PartialEq, Eq)]
pub struct InjectedCredential {
    pub host: String,
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for InjectedCredential {
    /// Names only: a request is logged on failure, and the values are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("InjectedCredential")
            .field("host", &self.host)
            .field("headers", &names)
            .finish()
    }
}

/// One execution.
#[derive(Debug, Clone)]
pub struct ScriptRequest {
    pub kind: ScriptKind,
    pub source: String,
    /// Repair: the `ctx` argument ({input, contract, request, response, ...}).
    /// Task: the task input, visible as `input`.
    pub ctx: serde_json::Value,
    /// `host:port` pairs `fetch` may reach (exact match; default ports are filled in from the URL).
    pub allowed_hosts: Vec<String>,
    pub credentials: Vec<InjectedCredential>,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: String,
    pub message: String,
}

/// One `fetch` call as the repair audit log shows it, allowed or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// The first 2 KiB of the body (injected credential values replaced).
    pub response_body_excerpt: String,
    /// The parsed body when it is JSON: the healer's no-invented-data check compares against it.
    pub response_json: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScriptOutcome {
    pub output: serde_json::Value,
    pub logs: Vec<LogLine>,
    pub fetches: Vec<FetchRecord>,
    pub duration: Duration,
}

/// Why an execution produced no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    #[error("the script ran longer than its {after_ms} ms time limit and was stopped")]
    Timeout { after_ms: u64 },
    #[error("the script ran out of memory and was stopped")]
    OutOfMemory,
    #[error("the script failed: {message}")]
    ScriptError {
        message: String,
        stack: Option<String>,
    },
    #[error("fetch denied: {url} is not allowed for this step")]
    FetchDenied { url: String },
    #[error("the script's output is larger than the output size limit")]
    OutputTooLarge,
    #[error("the script's output is not usable JSON: {0}")]
    InvalidOutput(String),
    #[error("the script made more fetch calls than its limit allows")]
    TooManyFetches,
    #[error("the sandbox engine failed: {0}")]
    Engine(String),
}

/// A failed execution with what it did before failing: the repair audit log shows both.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}")]
pub struct SandboxFailure {
    #[source]
    pub error: SandboxError,
    pub logs: Vec<LogLine>,
    pub fetches: Vec<FetchRecord>,
    pub duration: Duration,
}

/// A JavaScript engine with no ambient authority.
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    async fn execute(&self, req: ScriptRequest) -> Result<ScriptOutcome, SandboxFailure>;
    /// A short stable name for logs and the audit record ("quickjs").
    fn name(&self) -> &'static str;
}
