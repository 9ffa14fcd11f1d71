//! Parsing and validation of realistic definitions from `tests/fixtures`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use serde_json::{Value, json};
use suture_domain::expr::Scope;
use suture_domain::workflow::{
    Definition, DefinitionError, DefinitionProblem, FlowDirective, HealMode, HttpOutput,
    RespondMode, SignatureScheme, SourceFormat, TaskKind, parse_definition,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn problems_of(text: &str, format: SourceFormat) -> Vec<DefinitionProblem> {
    match parse_definition(text, format) {
        Err(DefinitionError::Invalid { problems }) => problems,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn paths(problems: &[DefinitionProblem]) -> Vec<&str> {
    problems.iter().map(|p| p.path.as_str()).collect()
}

fn valid(text: &str, format: SourceFormat) -> Definition {
    parse_definition(text, format).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn spec_example_is_rejected_at_its_catalog_calls() {
    let problems = problems_of(&fixture("spec_example.yaml"), SourceFormat::Yaml);
    assert_eq!(
        paths(&problems),
        ["/do/0/getContact/call", "/do/1/notify/call"],
        "{problems:#?}"
    );
    assert_eq!(
        problems[0].message,
        "catalog call `contacts.get` is not supported by Suture yet (supported: http)"
    );
    assert!(problems[1].message.contains("chat.post_message"));
}

#[test]
fn valid_yaml_workflow_is_compiled() {
    let definition = valid(&fixture("lead_enrich.yaml"), SourceFormat::Yaml);
    let document = &definition.document;
    assert_eq!(
        (
            document.dsl.as_str(),
            document.namespace.as_str(),
            document.name.as_str(),
            document.version.as_str()
        ),
        ("1.0.0", "sales", "lead-enrich", "1.2.0")
    );
    assert_eq!(
        document.title.as_deref(),
        Some("Enrich a lead and post it to chat")
    );
    assert_eq!(definition.schedule_cron.as_deref(), Some("0 8 * * 1-5"));
    assert_eq!(definition.timeout, Some(Duration::from_secs(120)));

    let suture = &definition.suture;
    assert_eq!(suture.heal, Some(HealMode::Suggest));
    assert!(!suture.substitute);
    let webhook = suture.webhook.as_ref().unwrap();
    assert_eq!(webhook.signature, Some(SignatureScheme::StandardWebhooks));
    assert_eq!(webhook.respond, RespondMode::Sync);
    assert_eq!(webhook.sync_timeout_ms, 5000);

    let input_schema = definition.input.as_ref().unwrap().schema.as_ref().unwrap();
    assert!(input_schema.validate(&json!({"contactId": 7})).is_ok());
    assert!(input_schema.validate(&json!({"contactId": "7"})).is_err());

    let names: Vec<_> = definition.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["getContact", "normalize", "score", "notify"]);
    let pointers: Vec<_> = definition
        .tasks
        .iter()
        .map(|t| t.pointer.as_str())
        .collect();
    assert_eq!(
        pointers,
        [
            "/do/0/getContact",
            "/do/1/normalize",
            "/do/2/score",
            "/do/3/notify"
        ]
    );

    let get = &definition.tasks[0];
    let TaskKind::Http(call) = &get.kind else {
        panic!("getContact should be an http call")
    };
    assert_eq!(call.method, "GET");
    assert!(!call.redirect);
    assert_eq!(call.output, HttpOutput::Content);
    assert_eq!(get.timeout, Some(Duration::from_secs(5)));
    let scope = Scope {
        secrets: json!({"crm": {"token": "t0k"}}),
        ..Scope::default()
    };
    let task_input = json!({"contactId": 7});
    assert_eq!(
        call.endpoint.eval(&task_input, &scope).unwrap(),
        json!("https://crm.example.com/v2/contacts/7")
    );
    assert_eq!(
        call.headers
            .as_ref()
            .unwrap()
            .eval(&task_input, &scope)
            .unwrap(),
        json!({"Authorization": "Bearer t0k", "Accept": "application/json"})
    );
    assert!(call.query.as_ref().unwrap().is_literal());
    let output = get.output.as_ref().unwrap();
    let vendor = json!({"contact": {"name": "Ada", "email": "ada@example.com"}});
    let shaped = output.as_.as_ref().unwrap().eval(&vendor, &scope).unwrap();
    assert!(output.schema.as_ref().unwrap().validate(&shaped).is_ok());
    let context = get
        .export_as
        .as_ref()
        .unwrap()
        .eval(
            &shaped,
            &Scope {
                context: json!({"run": 1}),
                ..Scope::default()
            },
        )
        .unwrap();
    assert_eq!(
        context,
        json!({"run": 1, "contact": {"name": "Ada", "email": "ada@example.com"}})
    );

    let TaskKind::Set(set) = &definition.tasks[1].kind else {
        panic!("normalize should be a set task")
    };
    assert_eq!(
        set.eval(&json!({"name": "ADA", "email": "a@b.c"}), &scope)
            .unwrap(),
        json!({"name": "ada", "email": "a@b.c", "source": "crm"})
    );

    let score = &definition.tasks[2];
    let TaskKind::Script(script) = &score.kind else {
        panic!("score should be a script task")
    };
    assert_eq!(script.language, "js");
    assert!(script.code.contains("export default function"));
    assert_eq!(
        script
            .arguments
            .as_ref()
            .unwrap()
            .eval(&Value::Null, &scope)
            .unwrap(),
        json!({"weight": 2})
    );
    let condition = score.r#if.as_ref().unwrap();
    assert_eq!(
        condition
            .eval(&json!({"email": "x@example.com"}), &scope)
            .unwrap(),
        json!(false)
    );
    assert_eq!(
        condition
            .eval(&json!({"email": "x@vendor.io"}), &scope)
            .unwrap(),
        json!(true)
    );

    let notify = &definition.tasks[3];
    let TaskKind::Http(post) = &notify.kind else {
        panic!("notify should be an http call")
    };
    assert_eq!(post.method, "POST");
    assert!(post.redirect);
    assert_eq!(post.output, HttpOutput::Response);
    assert!(post.endpoint.is_literal());
    assert_eq!(
        post.endpoint.eval(&Value::Null, &scope).unwrap(),
        json!("https://chat.example.com/api/messages")
    );
    assert_eq!(notify.then, Some(FlowDirective::End));

    // Task override beats the document's mode; the document's beats the default.
    assert_eq!(definition.heal_mode_for(score), HealMode::Off);
    assert_eq!(definition.heal_mode_for(get), HealMode::Suggest);
    assert_eq!(definition.heal_mode_for(notify), HealMode::Suggest);
}

#[test]
fn json_and_yaml_forms_are_the_same_definition() {
    let from_yaml = valid(&fixture("lead_enrich.yaml"), SourceFormat::Yaml);
    let from_json = valid(&fixture("lead_enrich.json"), SourceFormat::Json);
    assert_eq!(from_yaml.normalized, from_json.normalized);
    assert_eq!(from_json.tasks.len(), 4);
    assert_eq!(from_json.document, from_yaml.document);
    assert_eq!(from_json.suture, from_yaml.suture);
    // Key order survives normalisation (the API returns what the author wrote).
    let keys: Vec<_> = from_json
        .normalized
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "document", "metadata", "input", "schedule", "timeout", "do", "output"
        ]
    );
}

#[test]
fn broken_yaml_is_a_syntax_error_with_its_line() {
    match parse_definition(&fixture("broken.yaml"), SourceFormat::Yaml) {
        Err(DefinitionError::Syntax { line, message, .. }) => {
            let line = line.expect("a line number");
            // The unterminated string starts on line 11; the scanner notices by line 12/13.
            assert!((11..=14).contains(&line), "line {line}: {message}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn broken_json_is_a_syntax_error_with_line_and_column() {
    let text = "{\n  \"document\": {\"dsl\": \"1.0.0\",}\n}";
    match parse_definition(text, SourceFormat::Json) {
        Err(DefinitionError::Syntax { line, column, .. }) => {
            assert_eq!(line, Some(2));
            assert!(column.is_some());
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn three_problems_are_all_reported_with_paths() {
    let problems = problems_of(&fixture("three_problems.yaml"), SourceFormat::Yaml);
    assert_eq!(
        paths(&problems),
        [
            "/document/name",
            "/do/0/prepare/set/total",
            "/do/1/send/then"
        ],
        "{problems:#?}"
    );
    assert_eq!(problems[0].message, "missing `document.name`");
    assert!(
        problems[1]
            .message
            .starts_with("invalid expression `.items | map(.price) | add +`:"),
        "{}",
        problems[1].message
    );
    assert!(problems[2].message.contains("`archive`"));
    let error = parse_definition(&fixture("three_problems.yaml"), SourceFormat::Yaml).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid definition (3 problems)")
    );
}

#[test]
fn unsupported_constructs_are_named_at_their_paths() {
    let problems = problems_of(&fixture("unsupported.yaml"), SourceFormat::Yaml);
    let expected = [
        ("/metadata/suture/heal", "invalid heal mode `sometimes`"),
        (
            "/do/0/fanOut/fork",
            "task kind `fork` is not supported by Suture yet",
        ),
        (
            "/do/1/rpc/call",
            "call `grpc` is not supported by Suture yet (supported: http)",
        ),
        (
            "/do/2/legacy/call",
            "call `soap` is not supported yet (supported: http)",
        ),
        (
            "/do/3/box/run/container",
            "task kind `run: container` is not supported",
        ),
        (
            "/do/4/py/run/script/language",
            "script language `python` is not supported",
        ),
        (
            "/do/5/secured/retry",
            "unknown key `retry` in task `secured`",
        ),
        (
            "/do/5/secured/with/endpoint/authentication",
            "authentication is not supported yet; use headers with $secrets",
        ),
        (
            "/do/6/checked/output/schema/document",
            "invalid JSON schema",
        ),
        ("/do/7", "exactly one key"),
        (
            "/do/8/checked",
            "duplicate task name `checked` (first used at /do/6/checked)",
        ),
    ];
    for (path, fragment) in expected {
        assert!(
            problems
                .iter()
                .any(|p| p.path == path && p.message.contains(fragment)),
            "no problem at {path} containing {fragment:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn missing_document_and_do_are_reported() {
    let problems = problems_of("{}", SourceFormat::Json);
    assert_eq!(paths(&problems), ["/document", "/do"]);
    let problems = problems_of("[1, 2]", SourceFormat::Json);
    assert_eq!(paths(&problems), [""]);
    let problems = problems_of(
        "document: { dsl: '0.8', namespace: Sales, name: ok, version: 1.0 }\ndo: []\n",
        SourceFormat::Yaml,
    );
    assert_eq!(
        paths(&problems),
        [
            "/document/version",
            "/document/dsl",
            "/document/namespace",
            "/do"
        ],
        "{problems:#?}"
    );
    assert!(problems[0].message.contains("quote it"));
}

#[test]
fn defaults_for_heal_mode_and_webhook() {
    let definition = valid(&fixture("reference_workload.yaml"), SourceFormat::Yaml);
    assert!(definition.suture.substitute);
    assert_eq!(definition.suture.heal, None);
    let webhook = definition.suture.webhook.as_ref().unwrap();
    assert_eq!(webhook.respond, RespondMode::Sync);
    assert_eq!(webhook.signature, None);
    assert_eq!(webhook.sync_timeout_ms, 10_000);
    let fetch = &definition.tasks[0];
    let rename = &definition.tasks[1];
    assert_eq!(definition.heal_mode_for(fetch), HealMode::Auto);
    assert_eq!(definition.heal_mode_for(rename), HealMode::Suggest);

    // The reference workload's `set` produces SPEC §8's expected answer.
    let TaskKind::Set(set) = &rename.kind else {
        panic!("rename should be a set task")
    };
    let upstream = json!({"id": 123, "name": "widget", "price": 9.99, "tags": ["a", "b"]});
    let answer = set.eval(&upstream, &Scope::default()).unwrap();
    assert_eq!(
        serde_json::to_string(&answer).unwrap(),
        r#"{"id":123,"price":9.99,"tags":["a","b"],"product_name":"widget"}"#
    );
}

#[test]
fn goto_and_flow_directives() {
    let text = r#"
document: { dsl: '1.0.0', namespace: ops, name: loop, version: '0.1.0' }
do:
  - first:
      set: { n: 1 }
      then: last
  - middle:
      set: '${ . }'
      then: continue
  - last:
      set: { done: true }
      then: exit
"#;
    let definition = valid(text, SourceFormat::Yaml);
    let then: Vec<_> = definition.tasks.iter().map(|t| t.then.clone()).collect();
    assert_eq!(
        then,
        [
            Some(FlowDirective::Goto("last".to_owned())),
            Some(FlowDirective::Continue),
            Some(FlowDirective::Exit)
        ]
    );
    assert_eq!(definition.task_index("last"), Some(2));
}

#[test]
fn document_metadata_position_and_duplicates() {
    let nested = r#"
document:
  dsl: '1.0.0'
  namespace: ops
  name: nested
  version: '1.0.0'
  metadata: { suture: { heal: off } }
do:
  - a: { set: { x: 1 } }
"#;
    let definition = valid(nested, SourceFormat::Yaml);
    assert_eq!(definition.suture.heal, Some(HealMode::Off));

    let both = format!("{nested}metadata: {{ suture: {{ heal: auto }} }}\n");
    let problems = problems_of(&both, SourceFormat::Yaml);
    assert_eq!(paths(&problems), ["/metadata/suture"]);
}

#[test]
fn task_shape_problems() {
    let text = r#"
document: { dsl: '1.0.0', namespace: ops, name: shapes, version: '1.0.0' }
do:
  - nothing: { if: '${ true }' }
  - both: { set: { a: 1 }, call: http }
  - notAMap: 3
  - badTimeout:
      set: { a: 1 }
      timeout: { after: { secs: 5 } }
  - badHttp:
      call: http
      with: { method: fetch, endpoint: 'ftp://example.com/x', output: body, redirect: 'yes' }
  - noWith: { call: http }
  - badIf: { set: { a: 1 }, if: '${ .a == }' }
  - emptyGoto: { set: { a: 1 }, then: 7 }
"#;
    let problems = problems_of(text, SourceFormat::Yaml);
    assert_eq!(
        paths(&problems),
        [
            "/do/0/nothing",
            "/do/1/both",
            "/do/2/notAMap",
            "/do/3/badTimeout/timeout/after/secs",
            "/do/4/badHttp/with/method",
            "/do/4/badHttp/with/endpoint",
            "/do/4/badHttp/with/output",
            "/do/4/badHttp/with/redirect",
            "/do/5/noWith/with",
            "/do/6/badIf/if",
            "/do/7/emptyGoto/then",
        ],
        "{problems:#?}"
    );
}

#[test]
fn problems_serialize_for_the_api() {
    let problems = problems_of(&fixture("three_problems.yaml"), SourceFormat::Yaml);
    let json = serde_json::to_value(&problems[0]).unwrap();
    assert_eq!(
        json,
        json!({"path": "/document/name", "message": "missing `document.name`"})
    );
}

#[test]
fn yaml_scalars_become_json() {
    let text = r#"
document: { dsl: '1.0.0', namespace: ops, name: scalars, version: '1.0.0' }
do:
  - codes:
      set:
        200: ok
        flag: yes
        anchor: &a { n: 1 }
        copy: *a
"#;
    let definition = valid(text, SourceFormat::Yaml);
    let TaskKind::Set(set) = &definition.tasks[0].kind else {
        panic!("codes should be a set task")
    };
    assert_eq!(
        set.eval(&Value::Null, &Scope::default()).unwrap(),
        json!({"200": "ok", "flag": "yes", "anchor": {"n": 1}, "copy": {"n": 1}})
    );
}
