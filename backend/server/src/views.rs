//! View models and askama page templates for the dashboard. Handlers turn domain and storage
//! types into these plain, pre-formatted structs, so templates never see entities and stay free
//! of formatting logic; the only helpers here map status words to colours and labels.

use askama::Template;
use askama_web::WebTemplate;

/// The frame around every signed-in page: top bar, navigation, tenant switcher, flash message.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub user_email: String,
    pub tenant_name: String,
    pub tenants: Vec<TenantChoice>,
    pub csrf_token: String,
    /// One of "overview", "runs", "repairs", "workflows", "antibodies"; highlights the nav link.
    pub nav: &'static str,
    pub flash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TenantChoice {
    pub id: String,
    pub name: String,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: String,
    /// The last 8 characters of the id: UUIDv7 ids share their time prefix, so the tail differs.
    pub short_id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    pub version: i32,
    pub status: String,
    pub trigger: String,
    pub created_at: String,
    pub duration: String,
}

/// An RFC 9457-style problem, as stored on a failed run or step.
#[derive(Debug, Clone)]
pub struct ProblemView {
    pub title: String,
    pub detail: String,
    /// e.g. "validation", "communication".
    pub kind: String,
    pub instance: String,
}

#[derive(Debug, Clone)]
pub struct AttemptView {
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub outcome: String,
    pub duration_ms: u64,
    pub started_at: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RepairRow {
    pub id: String,
    pub short_id: String,
    pub created_at: String,
    pub run_id: String,
    pub workflow_name: String,
    pub task_name: String,
    pub tool: String,
    pub failure_class: String,
    pub generator: String,
    pub outcome: String,
    /// Applied from an existing antibody rather than newly generated.
    pub reused: bool,
    pub diagnosis: String,
    pub duration_ms: i64,
}

#[derive(Debug, Clone)]
pub struct StepView {
    pub position: i32,
    pub name: String,
    pub status: String,
    pub started_at: String,
    pub duration: String,
    pub input_json: String,
    pub output_json: Option<String>,
    pub error: Option<ProblemView>,
    pub attempts: Vec<AttemptView>,
    pub repairs: Vec<RepairRow>,
}

impl StepView {
    /// The generator credited on the timeline: the latest repair whose outcome counts as a
    /// success, or, for a step marked healed without a visible repair, none.
    pub fn healed_by(&self) -> Option<&str> {
        self.repairs
            .iter()
            .rev()
            .find(|r| tone(&r.outcome) == "ok" || tone(&r.outcome) == "heal")
            .map(|r| r.generator.as_str())
    }

    pub fn is_healed(&self) -> bool {
        self.status == "healed" || self.healed_by().is_some()
    }
}

#[derive(Debug, Clone)]
pub struct RunDetail {
    pub id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    pub version: i32,
    pub status: String,
    pub trigger: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub duration: String,
    pub input_json: String,
    pub output_json: Option<String>,
    pub error: Option<ProblemView>,
}

#[derive(Debug, Clone)]
pub struct LogLineView {
    pub level: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct FetchView {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone)]
pub struct RepairDetail {
    pub row: RepairRow,
    pub fingerprint: String,
    pub operation: String,
    pub patch_source: String,
    pub failure_json: String,
    pub logs: Vec<LogLineView>,
    pub fetches: Vec<FetchView>,
    pub verdict_accepted: bool,
    pub verdict_reasons: Vec<String>,
    pub antibody_id: Option<String>,
    pub approved_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WorkflowRow {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub version: i32,
    pub updated_at: String,
    pub webhook_url: String,
    pub runs_24h: i64,
}

#[derive(Debug, Clone)]
pub struct AntibodyRow {
    pub id: String,
    pub tool: String,
    pub operation: String,
    pub failure_class: String,
    pub generator: String,
    pub status: String,
    pub uses: i64,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StatCard {
    pub label: String,
    pub value: String,
    pub hint: Option<String>,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    pub error: Option<String>,
    pub csrf_token: String,
    /// Echoed back after a failed attempt so the user only retypes the password.
    pub email: String,
    /// Where to go after signing in (a same-site path).
    pub next: String,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/overview.html")]
pub struct OverviewPage {
    pub chrome: Chrome,
    pub stats: Vec<StatCard>,
    pub recent_runs: Vec<RunRow>,
    /// Repairs waiting for a human decision.
    pub pending_repairs: Vec<RepairRow>,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/runs/list.html")]
pub struct RunsPage {
    pub chrome: Chrome,
    pub runs: Vec<RunRow>,
    /// Currently selected status, "" for any.
    pub status_filter: String,
    /// Currently selected workflow id, "" for any.
    pub workflow_filter: String,
    /// (id, name) pairs for the workflow filter.
    pub workflows: Vec<(String, String)>,
    pub statuses: Vec<&'static str>,
    /// Opaque cursor for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/runs/show.html")]
pub struct RunPage {
    pub chrome: Chrome,
    pub run: RunDetail,
    pub steps: Vec<StepView>,
    pub repairs: Vec<RepairRow>,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/repairs/list.html")]
pub struct RepairsPage {
    pub chrome: Chrome,
    pub repairs: Vec<RepairRow>,
    pub outcome_filter: String,
    pub workflow_filter: String,
    pub generator_filter: String,
    pub workflows: Vec<(String, String)>,
    pub outcomes: Vec<&'static str>,
    /// Generator names for the generator filter (e.g. "heuristic", "llm").
    pub generators: Vec<String>,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/repairs/show.html")]
pub struct RepairPage {
    pub chrome: Chrome,
    pub repair: RepairDetail,
    /// Shows the Approve / Reject forms (POST /repairs/{id}/approve|reject).
    pub can_decide: bool,
    /// Shows the Retire antibody form (POST /antibodies/{antibody_id}/retire).
    pub can_retire: bool,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/workflows/list.html")]
pub struct WorkflowsPage {
    pub chrome: Chrome,
    pub workflows: Vec<WorkflowRow>,
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/antibodies/list.html")]
pub struct AntibodiesPage {
    pub chrome: Chrome,
    pub antibodies: Vec<AntibodyRow>,
}

/// Rendered without `Chrome` because it must work when there is no session (404 before login,
/// 500 while loading the session). The handler pairs it with the matching HTTP status.
#[derive(Debug, Template, WebTemplate)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: String,
    pub message: String,
}

/// The colour family of a run, step, repair, attempt or antibody status; the CSS has one pill
/// style per family, so a status word added later still gets a sensible colour.
pub fn tone(status: impl AsRef<str>) -> &'static str {
    match status.as_ref() {
        "succeeded" | "success" | "ok" | "accepted" | "approved" | "applied" | "active" => "ok",
        "healed" | "reused" | "substituted" | "repaired" => "heal",
        "failed" | "failure" | "error" | "rejected" | "timeout" | "denied" => "bad",
        "waiting_approval" | "pending_approval" | "pending" | "candidate" | "retry" => "warn",
        "running" | "started" => "info",
        _ => "mute",
    }
}

/// One run of a JSON text for the code block: `kind` is "key", "str", "num", "lit" or "" for
/// punctuation and whitespace, which stay unwrapped so large payloads produce few elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonToken<'a> {
    pub kind: &'static str,
    pub text: &'a str,
}

/// Splits pretty-printed JSON into coloured runs. It never rejects input: text that is not
/// JSON comes back as plain runs, and concatenating the runs always gives the input back, so
/// highlighting can never hide or alter what the handler rendered.
pub fn json_tokens(text: &str) -> Vec<JsonToken<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                let rest = text[i..].trim_start();
                if rest.starts_with(':') { "key" } else { "str" }
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                "num"
            }
            b'a'..=b'z' => {
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                if matches!(&text[start..i], "true" | "false" | "null") {
                    "lit"
                } else {
                    ""
                }
            }
            _ => {
                i += 1;
                ""
            }
        };
        if kind.is_empty() {
            continue;
        }
        if plain_start < start {
            tokens.push(JsonToken {
                kind: "",
                text: &text[plain_start..start],
            });
        }
        tokens.push(JsonToken {
            kind,
            text: &text[start..i],
        });
        plain_start = i;
    }
    if plain_start < bytes.len() {
        tokens.push(JsonToken {
            kind: "",
            text: &text[plain_start..],
        });
    }
    tokens
}

/// A status word as people read it: "waiting_approval" becomes "waiting approval".
pub fn label(status: impl AsRef<str>) -> String {
    status.as_ref().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(text: &str) -> String {
        json_tokens(text).iter().map(|t| t.text).collect()
    }

    #[test]
    fn json_tokens_classify_keys_strings_numbers_and_literals() {
        let text = "{\n  \"id\": \"a\\\"b\",\n  \"n\": -1.5e3,\n  \"ok\": [true, null]\n}";
        let kinds: Vec<(&str, &str)> = json_tokens(text)
            .into_iter()
            .filter(|t| !t.kind.is_empty())
            .map(|t| (t.kind, t.text))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("key", "\"id\""),
                ("str", "\"a\\\"b\""),
                ("key", "\"n\""),
                ("num", "-1.5e3"),
                ("key", "\"ok\""),
                ("lit", "true"),
                ("lit", "null"),
            ]
        );
        assert_eq!(joined(text), text);
    }

    #[test]
    fn json_tokens_give_back_any_input_unchanged() {
        for text in [
            "",
            "not json at all <b>",
            "{\"unterminated: \u{e9}\u{1f600}",
            "\"trailing backslash \\",
            "caf\u{e9} 12 \u{4e2d}\u{6587} true",
        ] {
            assert_eq!(joined(text), text);
        }
    }

    #[test]
    fn tone_groups_statuses_by_colour() {
        assert_eq!(tone("succeeded"), "ok");
        assert_eq!(tone("healed"), "heal");
        assert_eq!(tone("failed"), "bad");
        assert_eq!(tone("running"), "info");
        assert_eq!(tone("queued"), "mute");
        assert_eq!(tone("waiting_approval"), "warn");
        assert_eq!(tone("a status added later"), "mute");
        assert_eq!(label("waiting_approval"), "waiting approval");
    }

    #[test]
    fn healed_by_names_the_accepted_repair_generator() {
        let repair = |generator: &str, outcome: &str| RepairRow {
            id: String::new(),
            short_id: String::new(),
            created_at: String::new(),
            run_id: String::new(),
            workflow_name: String::new(),
            task_name: String::new(),
            tool: String::new(),
            failure_class: String::new(),
            generator: generator.into(),
            outcome: outcome.into(),
            reused: false,
            diagnosis: String::new(),
            duration_ms: 0,
        };
        let mut step = StepView {
            position: 1,
            name: "s".into(),
            status: "succeeded".into(),
            started_at: String::new(),
            duration: String::new(),
            input_json: String::new(),
            output_json: None,
            error: None,
            attempts: vec![],
            repairs: vec![repair("llm", "rejected")],
        };
        assert_eq!(step.healed_by(), None);
        assert!(!step.is_healed());
        step.repairs.push(repair("heuristic", "accepted"));
        assert_eq!(step.healed_by(), Some("heuristic"));
        assert!(step.is_healed());
    }
}
