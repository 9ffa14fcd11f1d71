//! The definition checker: walks the decoded JSON once, records every problem at its JSON
//! pointer, and returns the compiled model only when it found none.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::duration::parse_duration;
use super::{
    DEFAULT_SYNC_TIMEOUT_MS, DataIn, DataOut, Definition, DefinitionProblem, Document,
    FlowDirective, HealMode, HttpCall, HttpOutput, RespondMode, ScriptTask, SignatureScheme,
    SutureSettings, TaskDef, TaskKind, WebhookSettings,
};
use crate::contract::Schema;
use crate::expr::{Expr, Template, escape_pointer_token, strip_expression};

const TOP_LEVEL_KEYS: &[&str] = &[
    "document", "input", "output", "do", "schedule", "metadata", "timeout", "use", "evaluate",
];
const DOCUMENT_KEYS: &[&str] = &[
    "dsl",
    "namespace",
    "name",
    "version",
    "title",
    "summary",
    "tags",
    "metadata",
];
const SUPPORTED_TASK_KINDS: &[&str] = &["call", "set", "run"];
const UNSUPPORTED_TASK_KINDS: &[&str] = &[
    "fork", "listen", "emit", "switch", "for", "try", "wait", "raise", "do",
];
const COMMON_TASK_KEYS: &[&str] = &[
    "if", "input", "output", "export", "timeout", "then", "metadata",
];
const HTTP_WITH_KEYS: &[&str] = &[
    "method", "endpoint", "headers", "body", "query", "output", "redirect",
];
const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const DSL_CALL_FUNCTIONS: &[&str] = &["grpc", "asyncapi", "openapi", "a2a", "mcp"];
const CRON_MACROS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];
/// A synchronous webhook holds a client connection open; beyond this, async is the answer.
const MAX_SYNC_TIMEOUT_MS: u64 = 300_000;

pub(super) fn check(value: Value) -> Result<Definition, Vec<DefinitionProblem>> {
    let mut checker = Checker::default();
    let Value::Object(root) = &value else {
        checker.add(
            "",
            "a workflow definition must be a mapping with `document` and `do`",
        );
        return Err(checker.problems);
    };
    for key in root.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            checker.add(
                child("", key),
                format!(
                    "unknown top-level key `{key}` (expected one of: {})",
                    TOP_LEVEL_KEYS.join(", ")
                ),
            );
        }
    }
    let document = checker.document(root.get("document"));
    let suture = checker.document_settings(root);
    let input = root
        .get("input")
        .and_then(|value| checker.data_in(value, "/input"));
    let output = root
        .get("output")
        .and_then(|value| checker.data_out(value, "/output"));
    let schedule_cron = root
        .get("schedule")
        .and_then(|value| checker.schedule(value, "/schedule"));
    let timeout = root
        .get("timeout")
        .and_then(|value| checker.timeout(value, "/timeout"));
    if let Some(value) = root.get("use") {
        checker.use_section(value, "/use");
    }
    if let Some(value) = root.get("evaluate") {
        checker.evaluate(value, "/evaluate");
    }
    let tasks = checker.task_list(root.get("do"), "/do");

    match (document, tasks) {
        (Some(document), Some(tasks)) if checker.problems.is_empty() => Ok(Definition {
            document,
            input,
            output,
            tasks,
            suture,
            schedule_cron,
            timeout,
            normalized: value,
        }),
        _ => {
            if checker.problems.is_empty() {
                checker.add("", "the definition is incomplete");
            }
            Err(checker.problems)
        }
    }
}

fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", escape_pointer_token(key))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// DSL names (`document.name`, `document.namespace`) are hostname-like labels.
fn is_dsl_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_semver(text: &str) -> bool {
    let without_build = text.split_once('+').map_or(text, |(core, _)| core);
    let core = without_build
        .split_once('-')
        .map_or(without_build, |(core, _)| core);
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
        })
}

fn is_cron(text: &str) -> bool {
    let text = text.trim();
    if CRON_MACROS.contains(&text) {
        return true;
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    (fields.len() == 5 || fields.len() == 6)
        && fields.iter().all(|field| {
            field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "*/,-?#".contains(c))
        })
}

#[derive(Default)]
struct Checker {
    problems: Vec<DefinitionProblem>,
}

impl Checker {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(DefinitionProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn mapping<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            other => {
                self.add(
                    path,
                    format!("{what} must be a mapping, not {}", type_name(other)),
                );
                None
            }
        }
    }

    fn unknown_keys(&mut self, map: &Map<String, Value>, path: &str, allowed: &[&str], what: &str) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.add(
                    child(path, key),
                    format!(
                        "unknown key `{key}` in {what} (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn string<'v>(&mut self, value: &'v Value, path: &str, what: &str) -> Option<&'v str> {
        match value {
            Value::String(text) => Some(text),
            Value::Number(_) => {
                self.add(
                    path,
                    format!("{what} must be a string (quote it, e.g. '1.0.0')"),
                );
                None
            }
            other => {
                self.add(
                    path,
                    format!("{what} must be a string, not {}", type_name(other)),
                );
                None
            }
        }
    }

    fn template(&mut self, value: &Value, path: &str) -> Option<Template> {
        match Template::compile(value) {
            Ok(template) => Some(template),
            Err(errors) => {
                for (relative, error) in errors {
                    self.add(format!("{path}{relative}"), format!("invalid {error}"));
                }
                None
            }
        }
    }

    /// Where the DSL expects an expression (`if`, `input.from`, `output.as`, `export.as`,
    /// `set` as text), a bare string is compiled as one too: as a literal it would be useless.
    fn expression(&mut self, text: &str, path: &str) -> Option<Expr> {
        let source = strip_expression(text).unwrap_or(text);
        match Expr::compile(source) {
            Ok(expr) => Some(expr),
            Err(error) => {
                self.add(path, format!("invalid {error}"));
                None
            }
        }
    }

    fn expression_template(&mut self, value: &Value, path: &str) -> Option<Template> {
        match value {
            Value::String(text) if strip_expression(text).is_none() => {
                self.expression(text, path).map(Template::from_expr)
            }
            other => self.template(other, path),
        }
    }

    fn document(&mut self, value: Option<&Value>) -> Option<Document> {
        let path = "/document";
        let Some(value) = value else {
            self.add(path, "missing `document` (dsl, namespace, name, version)");
            return None;
        };
        let map = self.mapping(value, path, "`document`")?;
        self.unknown_keys(map, path, DOCUMENT_KEYS, "`document`");
        let required = |checker: &mut Checker, key: &str| -> Option<String> {
            let key_path = child(path, key);
            let Some(value) = map.get(key) else {
                checker.add(key_path, format!("missing `document.{key}`"));
                return None;
            };
            let text = checker.string(value, &key_path, &format!("`document.{key}`"))?;
            if text.trim().is_empty() {
                checker.add(key_path, format!("`document.{key}` must not be empty"));
                return None;
            }
            Some(text.to_owned())
        };
        let dsl = required(self, "dsl");
        let namespace = required(self, "namespace");
        let name = required(self, "name");
        let version = required(self, "version");
        if let Some(dsl) = &dsl
            && !dsl.starts_with("1.")
        {
            self.add(
                "/document/dsl",
                format!(
                    "unsupported DSL version `{dsl}` (Suture reads Serverless Workflow DSL 1.x)"
                ),
            );
        }
        for (key, text) in [("namespace", &namespace), ("name", &name)] {
            if let Some(text) = text
                && !is_dsl_name(text)
            {
                self.add(
                    child(path, key),
                    format!(
                        "`document.{key}` `{text}` must be lower-case letters, digits and single hyphens (e.g. `lead-to-chat`)"
                    ),
                );
            }
        }
        if let Some(version) = &version
            && !is_semver(version)
        {
            self.add(
                "/document/version",
                format!(
                    "`document.version` `{version}` must be a semantic version such as `1.0.0`"
                ),
            );
        }
        let optional_string = |checker: &mut Checker, key: &str| -> Option<String> {
            let value = map.get(key)?;
            checker
                .string(value, &child(path, key), &format!("`document.{key}`"))
                .map(str::to_owned)
        };
        let title = optional_string(self, "title");
        let _summary = optional_string(self, "summary");
        for key in ["tags", "metadata"] {
            if let Some(value) = map.get(key) {
                self.mapping(value, &child(path, key), &format!("`document.{key}`"));
            }
        }
        Some(Document {
            dsl: dsl?,
            namespace: namespace?,
            name: name?,
            version: version?,
            title,
        })
    }

    /// `metadata.suture` may sit at the top level (as SPEC §2 writes it) or, as the DSL
    /// places metadata, under `document.metadata`.
    fn document_settings(&mut self, root: &Map<String, Value>) -> SutureSettings {
        let top = root
            .get("metadata")
            .and_then(|value| self.mapping(value, "/metadata", "`metadata`"))
            .and_then(|map| map.get("suture"));
        let nested = root
            .get("document")
            .and_then(|document| document.get("metadata"))
            .and_then(|metadata| metadata.get("suture"));
        match (top, nested) {
            (Some(_), Some(_)) => {
                self.add(
                    "/metadata/suture",
                    "`metadata.suture` is given both at the top level and in `document.metadata`; keep one",
                );
                SutureSettings::default()
            }
            (Some(value), None) => self.suture_settings(value, "/metadata/suture"),
            (None, Some(value)) => self.suture_settings(value, "/document/metadata/suture"),
            (None, None) => SutureSettings::default(),
        }
    }

    fn suture_settings(&mut self, value: &Value, path: &str) -> SutureSettings {
        let mut settings = SutureSettings::default();
        let Some(map) = self.mapping(value, path, "`metadata.suture`") else {
            return settings;
        };
        self.unknown_keys(
            map,
            path,
            &["heal", "substitute", "webhook"],
            "`metadata.suture`",
        );
        if let Some(value) = map.get("heal") {
            settings.heal = self.heal_mode(value, &child(path, "heal"));
        }
        if let Some(value) = map.get("substitute") {
            match value {
                Value::Bool(substitute) => settings.substitute = *substitute,
                other => self.add(
                    child(path, "substitute"),
                    format!(
                        "`substitute` must be true or false, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        if let Some(value) = map.get("webhook") {
            settings.webhook = self.webhook(value, &child(path, "webhook"));
        }
        settings
    }

    fn heal_mode(&mut self, value: &Value, path: &str) -> Option<HealMode> {
        let parsed = match value {
            Value::String(text) => HealMode::parse(text),
            // YAML 1.1 readers turn a bare `off` into false; accept what the author meant.
            Value::Bool(false) => Some(HealMode::Off),
            _ => None,
        };
        if parsed.is_none() {
            let shown = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            self.add(
                path,
                format!("invalid heal mode `{shown}` (expected auto, suggest or off)"),
            );
        }
        parsed
    }

    fn webhook(&mut self, value: &Value, path: &str) -> Option<WebhookSettings> {
        let map = self.mapping(value, path, "`webhook`")?;
        self.unknown_keys(
            map,
            path,
            &["signature", "respond", "sync_timeout_ms", "syncTimeoutMs"],
            "`webhook`",
        );
        let mut settings = WebhookSettings {
            signature: None,
            respond: RespondMode::Async,
            sync_timeout_ms: DEFAULT_SYNC_TIMEOUT_MS,
        };
        if let Some(value) = map.get("signature") {
            let key_path = child(path, "signature");
            settings.signature = match value.as_str() {
                Some("standard-webhooks") => Some(SignatureScheme::StandardWebhooks),
                Some("github") => Some(SignatureScheme::Github),
                _ => {
                    self.add(
                        key_path,
                        format!(
                            "unknown signature scheme {value} (expected standard-webhooks or github)"
                        ),
                    );
                    None
                }
            };
        }
        if let Some(value) = map.get("respond") {
            match value.as_str() {
                Some("async") => settings.respond = RespondMode::Async,
                Some("sync") => settings.respond = RespondMode::Sync,
                _ => self.add(
                    child(path, "respond"),
                    format!("unknown respond mode {value} (expected async or sync)"),
                ),
            }
        }
        for key in ["sync_timeout_ms", "syncTimeoutMs"] {
            if let Some(value) = map.get(key) {
                match value.as_u64() {
                    Some(ms) if (1..=MAX_SYNC_TIMEOUT_MS).contains(&ms) => {
                        settings.sync_timeout_ms = ms;
                    }
                    _ => self.add(
                        child(path, key),
                        format!(
                            "`{key}` must be a whole number of milliseconds between 1 and {MAX_SYNC_TIMEOUT_MS}"
                        ),
                    ),
                }
            }
        }
        Some(settings)
    }

    fn data_in(&mut self, value: &Value, path: &str) -> Option<DataIn> {
        let map = self.mapping(value, path, "`input`")?;
        self.unknown_keys(map, path, &["from", "schema"], "`input`");
        let schema = map
            .get("schema")
            .and_then(|value| self.schema(value, &child(path, "schema")));
        let from = map
            .get("from")
            .and_then(|value| self.expression_template(value, &child(path, "from")));
        Some(DataIn { schema, from })
    }

    fn data_out(&mut self, value: &Value, path: &str) -> Option<DataOut> {
        let map = self.mapping(value, path, "`output`")?;
        self.unknown_keys(map, path, &["as", "schema"], "`output`");
        let schema = map
            .get("schema")
            .and_then(|value| self.schema(value, &child(path, "schema")));
        let as_ = map
            .get("as")
            .and_then(|value| self.expression_template(value, &child(path, "as")));
        Some(DataOut { schema, as_ })
    }

    fn schema(&mut self, value: &Value, path: &str) -> Option<Schema> {
        let map = self.mapping(value, path, "`schema`")?;
        self.unknown_keys(map, path, &["format", "document", "resource"], "`schema`");
        if let Some(format) = map.get("format")
            && format.as_str() != Some("json")
        {
            self.add(
                child(path, "format"),
                format!("schema format {format} is not supported (supported: json)"),
            );
        }
        if map.contains_key("resource") {
            self.add(
                child(path, "resource"),
                "external schema resources are not supported yet; inline the schema under `document`",
            );
        }
        let document_path = child(path, "document");
        let Some(document) = map.get("document") else {
            if !map.contains_key("resource") {
                self.add(document_path, "missing `document` (the JSON schema itself)");
            }
            return None;
        };
        match Schema::compile(document) {
            Ok(schema) => Some(schema),
            Err(message) => {
                self.add(document_path, format!("invalid JSON schema: {message}"));
                None
            }
        }
    }

    fn timeout(&mut self, value: &Value, path: &str) -> Option<Duration> {
        if value.is_string() {
            self.add(
                path,
                "named timeouts (`use.timeouts`) are not supported; write `timeout: { after: { seconds: 5 } }`",
            );
            return None;
        }
        let map = self.mapping(value, path, "`timeout`")?;
        self.unknown_keys(map, path, &["after"], "`timeout`");
        let after_path = child(path, "after");
        let Some(after) = map.get("after") else {
            self.add(
                after_path,
                "missing `after`, e.g. `after: { seconds: 5 }` or `after: PT5S`",
            );
            return None;
        };
        match parse_duration(after) {
            Ok(duration) if duration.is_zero() => {
                self.add(after_path, "a timeout must be longer than zero");
                None
            }
            Ok(duration) => Some(duration),
            Err(errors) => {
                for (relative, message) in errors {
                    self.add(format!("{after_path}{relative}"), message);
                }
                None
            }
        }
    }

    fn schedule(&mut self, value: &Value, path: &str) -> Option<String> {
        let map = self.mapping(value, path, "`schedule`")?;
        for key in map.keys() {
            match key.as_str() {
                "cron" => {}
                "every" | "after" | "on" => self.add(
                    child(path, key),
                    format!("schedule `{key}` is not supported yet (supported: cron)"),
                ),
                other => self.add(
                    child(path, other),
                    format!("unknown key `{other}` in `schedule` (expected cron)"),
                ),
            }
        }
        let cron_path = child(path, "cron");
        let Some(cron) = map.get("cron") else {
            if map.is_empty() {
                self.add(cron_path, "missing `cron`, e.g. `cron: '0 8 * * *'`");
            }
            return None;
        };
        let text = self.string(cron, &cron_path, "`schedule.cron`")?;
        if is_cron(text) {
            Some(text.trim().to_owned())
        } else {
            self.add(
                cron_path,
                format!(
                    "`{text}` is not cron text (5 or 6 fields such as `*/5 * * * *`, or `@daily`)"
                ),
            );
            None
        }
    }

    fn use_section(&mut self, value: &Value, path: &str) {
        let Some(map) = self.mapping(value, path, "`use`") else {
            return;
        };
        for (key, item) in map {
            let key_path = child(path, key);
            if key == "secrets" {
                let names_ok = item
                    .as_array()
                    .is_some_and(|names| names.iter().all(Value::is_string));
                if !names_ok {
                    self.add(key_path, "`use.secrets` must be a list of secret names");
                }
            } else {
                self.add(
                    key_path,
                    format!("`use.{key}` is not supported by Suture yet (supported: secrets)"),
                );
            }
        }
    }

    fn evaluate(&mut self, value: &Value, path: &str) {
        let Some(map) = self.mapping(value, path, "`evaluate`") else {
            return;
        };
        self.unknown_keys(map, path, &["language", "mode"], "`evaluate`");
        if let Some(language) = map.get("language")
            && language.as_str() != Some("jq")
        {
            self.add(
                child(path, "language"),
                format!("expression language {language} is not supported (supported: jq)"),
            );
        }
        if let Some(mode) = map.get("mode")
            && mode.as_str() != Some("strict")
        {
            self.add(
                child(path, "mode"),
                format!("evaluation mode {mode} is not supported (supported: strict, where only `${{ }}` strings are expressions)"),
            );
        }
    }

    fn task_list(&mut self, value: Option<&Value>, path: &str) -> Option<Vec<TaskDef>> {
        let Some(value) = value else {
            self.add(path, "missing `do` (the list of tasks)");
            return None;
        };
        let Some(entries) = value.as_array() else {
            self.add(
                path,
                "`do` must be a list of single-key mappings, e.g. `- getContact: { call: http, … }`",
            );
            return None;
        };
        if entries.is_empty() {
            self.add(path, "`do` must list at least one task");
        }
        // Names first, so that `then` may jump forward to a task defined later.
        let mut first_seen: HashMap<&str, String> = HashMap::new();
        let mut named: Vec<(&str, &Value, String)> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry_path = format!("{path}/{index}");
            let Some(map) = entry.as_object() else {
                self.add(
                    entry_path,
                    format!(
                        "each entry of `do` must be a mapping with one key, the task name, not {}",
                        type_name(entry)
                    ),
                );
                continue;
            };
            let mut keys = map.iter();
            let (name, body) = match (keys.next(), keys.next()) {
                (Some(first), None) => first,
                (None, _) => {
                    self.add(entry_path, "empty task entry; expected `- taskName: { … }`");
                    continue;
                }
                (Some(_), Some(_)) => {
                    let names: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
                    self.add(
                        entry_path,
                        format!(
                            "a `do` entry must have exactly one key, the task name; found {} ({}) — is the task body indented under its name?",
                            map.len(),
                            names.join(", ")
                        ),
                    );
                    continue;
                }
            };
            let task_path = child(&entry_path, name);
            if name.trim().is_empty() {
                self.add(task_path, "a task name must not be empty");
                continue;
            }
            if let Some(first) = first_seen.get(name.as_str()) {
                self.add(
                    task_path,
                    format!("duplicate task name `{name}` (first used at {first})"),
                );
                continue;
            }
            first_seen.insert(name, task_path.clone());
            named.push((name, body, task_path));
        }
        let siblings: Vec<&str> = named.iter().map(|(name, _, _)| *name).collect();
        let tasks: Vec<TaskDef> = named
            .iter()
            .filter_map(|(name, body, task_path)| self.task(name, body, task_path, &siblings))
            .collect();
        Some(tasks)
    }

    fn task(&mut self, name: &str, body: &Value, path: &str, siblings: &[&str]) -> Option<TaskDef> {
        let map = self.mapping(body, path, &format!("task `{name}`"))?;
        let kinds: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|key| {
                SUPPORTED_TASK_KINDS.contains(key) || UNSUPPORTED_TASK_KINDS.contains(key)
            })
            .collect();
        let kind_key = match kinds.as_slice() {
            [] => {
                self.add(
                    path,
                    format!("task `{name}` has no kind (expected one of: call, set, run)"),
                );
                None
            }
            [kind] => Some(*kind),
            several => {
                let listed: Vec<String> = several.iter().map(|k| format!("`{k}`")).collect();
                self.add(
                    path,
                    format!(
                        "task `{name}` has several kinds ({}); a task has exactly one",
                        listed.join(", ")
                    ),
                );
                None
            }
        };
        if let Some(kind) = kind_key
            && UNSUPPORTED_TASK_KINDS.contains(&kind)
        {
            self.add(
                child(path, kind),
                format!("task kind `{kind}` is not supported by Suture yet"),
            );
        }
        // Keys that belong to an unsupported kind (`catch`, `while`…) are not "unknown".
        let supported_kind = kind_key.filter(|kind| SUPPORTED_TASK_KINDS.contains(kind));
        if let Some(kind) = supported_kind {
            let specific: &[&str] = match kind {
                "call" => &["call", "with"],
                "set" => &["set"],
                _ => &["run"],
            };
            let allowed: Vec<&str> = COMMON_TASK_KEYS.iter().chain(specific).copied().collect();
            for key in map.keys() {
                if !allowed.contains(&key.as_str()) {
                    self.add(
                        child(path, key),
                        format!(
                            "unknown key `{key}` in task `{name}` (expected one of: {})",
                            allowed.join(", ")
                        ),
                    );
                }
            }
        }

        let r#if = map.get("if").and_then(|value| {
            let if_path = child(path, "if");
            match value {
                Value::String(text) => self.expression(text, &if_path),
                other => {
                    self.add(
                        if_path,
                        format!(
                            "`if` must be an expression such as `${{ .amount > 100 }}`, not {}",
                            type_name(other)
                        ),
                    );
                    None
                }
            }
        });
        let input = map
            .get("input")
            .and_then(|value| self.data_in(value, &child(path, "input")));
        let output = map
            .get("output")
            .and_then(|value| self.data_out(value, &child(path, "output")));
        let export_as = map
            .get("export")
            .and_then(|value| self.export(value, &child(path, "export")));
        let then = map
            .get("then")
            .and_then(|value| self.then(value, &child(path, "then"), siblings));
        let timeout = map
            .get("timeout")
            .and_then(|value| self.timeout(value, &child(path, "timeout")));
        let heal = map
            .get("metadata")
            .and_then(|value| self.task_metadata(value, &child(path, "metadata")));

        let kind = match supported_kind {
            Some("call") => self.call(map, path),
            Some("set") => map
                .get("set")
                .and_then(|value| self.set(value, &child(path, "set")))
                .map(TaskKind::Set),
            Some(_) => map
                .get("run")
                .and_then(|value| self.run(value, &child(path, "run")))
                .map(TaskKind::Script),
            None => None,
        }?;
        Some(TaskDef {
            name: name.to_owned(),
            pointer: path.to_owned(),
            r#if,
            input,
            output,
            export_as,
            then,
            timeout,
            heal,
            kind,
        })
    }

    fn export(&mut self, value: &Value, path: &str) -> Option<Template> {
        let map = self.mapping(value, path, "`export`")?;
        for key in map.keys() {
            match key.as_str() {
                "as" => {}
                "schema" => self.add(
                    child(path, key),
                    "`export.schema` is not supported yet; check the context with a task's `input.schema`",
                ),
                other => self.add(
                    child(path, other),
                    format!("unknown key `{other}` in `export` (expected as)"),
                ),
            }
        }
        let as_path = child(path, "as");
        match map.get("as") {
            Some(value) => self.expression_template(value, &as_path),
            None => {
                self.add(as_path, "missing `as` (what to merge into `$context`)");
                None
            }
        }
    }

    fn then(&mut self, value: &Value, path: &str, siblings: &[&str]) -> Option<FlowDirective> {
        let text = self.string(value, path, "`then`")?;
        Some(match text {
            "continue" => FlowDirective::Continue,
            "exit" => FlowDirective::Exit,
            "end" => FlowDirective::End,
            target => {
                if !siblings.contains(&target) {
                    self.add(
                        path,
                        format!(
                            "`then` names task `{target}`, which is not in this `do` list (or use continue, exit, end)"
                        ),
                    );
                    return None;
                }
                FlowDirective::Goto(target.to_owned())
            }
        })
    }

    fn task_metadata(&mut self, value: &Value, path: &str) -> Option<HealMode> {
        let map = self.mapping(value, path, "`metadata`")?;
        let suture_path = child(path, "suture");
        let suture = self.mapping(map.get("suture")?, &suture_path, "`metadata.suture`")?;
        for key in suture.keys() {
            if key != "heal" {
                self.add(
                    child(&suture_path, key),
                    format!("unknown key `{key}` in a task's `metadata.suture` (only `heal` applies to a task)"),
                );
            }
        }
        let heal = suture.get("heal")?;
        self.heal_mode(heal, &child(&suture_path, "heal"))
    }

    fn call(&mut self, map: &Map<String, Value>, path: &str) -> Option<TaskKind> {
        let call_path = child(path, "call");
        let with_path = child(path, "with");
        let Some(function) = map.get("call").and_then(Value::as_str) else {
            self.add(call_path, "`call` must name a function, e.g. `http`");
            return None;
        };
        if function == "http" {
            let Some(with) = map.get("with") else {
                self.add(
                    with_path,
                    "`call: http` needs `with` (at least method and endpoint)",
                );
                return None;
            };
            return self.http(with, &with_path).map(TaskKind::Http);
        }
        let message = if DSL_CALL_FUNCTIONS.contains(&function) {
            format!("call `{function}` is not supported by Suture yet (supported: http)")
        } else if function.contains('.') || function.contains(':') {
            format!("catalog call `{function}` is not supported by Suture yet (supported: http)")
        } else {
            format!("call `{function}` is not supported yet (supported: http)")
        };
        self.add(call_path, message);
        // Expression mistakes in the arguments are worth reporting even so.
        if let Some(with) = map.get("with") {
            self.template(with, &with_path);
        }
        None
    }

    fn http(&mut self, value: &Value, path: &str) -> Option<HttpCall> {
        let map = self.mapping(value, path, "`with`")?;
        self.unknown_keys(map, path, HTTP_WITH_KEYS, "`with` of an http call");
        let method_path = child(path, "method");
        let method = match map.get("method") {
            None => {
                self.add(method_path, "missing `method`, e.g. `method: get`");
                None
            }
            Some(value) => self
                .string(value, &method_path, "`method`")
                .and_then(|text| {
                    let upper = text.trim().to_ascii_uppercase();
                    if HTTP_METHODS.contains(&upper.as_str()) {
                        Some(upper)
                    } else {
                        self.add(
                            &method_path,
                            format!(
                                "unsupported HTTP method `{text}` (expected one of: {})",
                                HTTP_METHODS.join(", ")
                            ),
                        );
                        None
                    }
                }),
        };
        let endpoint_path = child(path, "endpoint");
        let endpoint = match map.get("endpoint") {
            None => {
                self.add(
                    endpoint_path,
                    "missing `endpoint`, e.g. `endpoint: https://api.example.com/contacts`",
                );
                None
            }
            Some(value) => self.endpoint(value, &endpoint_path),
        };
        let object_or_expression = |checker: &mut Checker, key: &str| -> Option<Template> {
            let value = map.get(key)?;
            let key_path = child(path, key);
            match value {
                Value::Object(_) => checker.template(value, &key_path),
                Value::String(text) if strip_expression(text).is_some() => {
                    checker.template(value, &key_path)
                }
                other => {
                    checker.add(
                        key_path,
                        format!(
                            "`{key}` must be a mapping or a `${{ }}` expression, not {}",
                            type_name(other)
                        ),
                    );
                    None
                }
            }
        };
        let headers = object_or_expression(self, "headers");
        let query = object_or_expression(self, "query");
        let body = map
            .get("body")
            .and_then(|value| self.template(value, &child(path, "body")));
        let output = match map.get("output") {
            None => HttpOutput::Content,
            Some(value) => match value.as_str() {
                Some("content") => HttpOutput::Content,
                Some("response") => HttpOutput::Response,
                Some("raw") => HttpOutput::Raw,
                _ => {
                    self.add(
                        child(path, "output"),
                        format!("unknown output {value} (expected content, response or raw)"),
                    );
                    HttpOutput::Content
                }
            },
        };
        let redirect = match map.get("redirect") {
            None => false,
            Some(Value::Bool(redirect)) => *redirect,
            Some(other) => {
                self.add(
                    child(path, "redirect"),
                    format!("`redirect` must be true or false, not {}", type_name(other)),
                );
                false
            }
        };
        Some(HttpCall {
            method: method?,
            endpoint: endpoint?,
            headers,
            query,
            body,
            output,
            redirect,
        })
    }

    fn endpoint(&mut self, value: &Value, path: &str) -> Option<Template> {
        match value {
            Value::String(text) => self.uri(text, path),
            Value::Object(map) => {
                self.unknown_keys(map, path, &["uri", "authentication"], "`endpoint`");
                if map.contains_key("authentication") {
                    self.add(
                        child(path, "authentication"),
                        "authentication is not supported yet; use headers with $secrets",
                    );
                }
                let uri_path = child(path, "uri");
                match map.get("uri") {
                    Some(Value::String(text)) => self.uri(text, &uri_path),
                    Some(other) => {
                        self.add(
                            uri_path,
                            format!("`uri` must be a string, not {}", type_name(other)),
                        );
                        None
                    }
                    None => {
                        self.add(uri_path, "missing `uri`");
                        None
                    }
                }
            }
            other => {
                self.add(
                    path,
                    format!(
                        "`endpoint` must be a URI, a `${{ }}` expression or `{{ uri: … }}`, not {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn uri(&mut self, text: &str, path: &str) -> Option<Template> {
        let value = Value::String(text.to_owned());
        if strip_expression(text).is_some() {
            return self.template(&value, path);
        }
        match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => self.template(&value, path),
            Ok(url) => {
                self.add(
                    path,
                    format!(
                        "endpoint scheme `{}` is not supported (use http or https)",
                        url.scheme()
                    ),
                );
                None
            }
            Err(error) => {
                self.add(path, format!("`{text}` is not an absolute URI: {error}"));
                None
            }
        }
    }

    fn set(&mut self, value: &Value, path: &str) -> Option<Template> {
        match value {
            Value::Object(_) => self.template(value, path),
            Value::String(_) => self.expression_template(value, path),
            other => {
                self.add(
                    path,
                    format!(
                        "`set` must be a mapping or an expression, not {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn run(&mut self, value: &Value, path: &str) -> Option<ScriptTask> {
        let map = self.mapping(value, path, "`run`")?;
        let mut has_process = false;
        for (key, item) in map {
            let key_path = child(path, key);
            match key.as_str() {
                "script" => has_process = true,
                "container" | "shell" | "workflow" => {
                    has_process = true;
                    self.add(
                        key_path,
                        format!("task kind `run: {key}` is not supported by Suture yet (supported: script)"),
                    );
                }
                "await" => {
                    if item != &Value::Bool(true) {
                        self.add(
                            key_path,
                            "only `await: true` is supported: a script task always runs to completion",
                        );
                    }
                }
                "return" => self.add(
                    key_path,
                    "`run.return` is not supported: a script task outputs what its function returns",
                ),
                other => self.add(
                    key_path,
                    format!("unknown key `{other}` in `run` (expected script)"),
                ),
            }
        }
        if !has_process {
            self.add(path, "`run` needs `script: { language: js, code: … }`");
        }
        let script = map.get("script")?;
        self.script(script, &child(path, "script"))
    }

    fn script(&mut self, value: &Value, path: &str) -> Option<ScriptTask> {
        let map = self.mapping(value, path, "`script`")?;
        for key in map.keys() {
            match key.as_str() {
                "language" | "code" | "arguments" => {}
                "source" => self.add(
                    child(path, key),
                    "external script sources are not supported yet; inline the code under `code`",
                ),
                "environment" => self.add(
                    child(path, key),
                    "`environment` is not supported: scripts see no environment; pass values in `arguments`",
                ),
                other => self.add(
                    child(path, other),
                    format!("unknown key `{other}` in `script` (expected language, code, arguments)"),
                ),
            }
        }
        let language_path = child(path, "language");
        let language = match map.get("language") {
            None => {
                self.add(language_path, "missing `language` (js)");
                None
            }
            Some(value) => self
                .string(value, &language_path, "`language`")
                .and_then(|text| {
                    if matches!(text.to_ascii_lowercase().as_str(), "js" | "javascript") {
                        Some(text.to_owned())
                    } else {
                        self.add(
                            &language_path,
                            format!("script language `{text}` is not supported (supported: js)"),
                        );
                        None
                    }
                }),
        };
        let code_path = child(path, "code");
        let code = match map.get("code") {
            None => {
                if !map.contains_key("source") {
                    self.add(code_path, "missing `code` (the JavaScript to run)");
                }
                None
            }
            Some(value) => self.string(value, &code_path, "`code`").and_then(|text| {
                if text.trim().is_empty() {
                    self.add(&code_path, "`code` must not be empty");
                    None
                } else {
                    Some(text.to_owned())
                }
            }),
        };
        let arguments = match map.get("arguments") {
            None => None,
            Some(value @ Value::Object(_)) => self.template(value, &child(path, "arguments")),
            Some(other) => {
                self.add(
                    child(path, "arguments"),
                    format!("`arguments` must be a mapping, not {}", type_name(other)),
                );
                None
            }
        };
        Some(ScriptTask {
            language: language?,
            code: code?,
            arguments,
        })
    }
}
