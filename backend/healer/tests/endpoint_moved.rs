//! `heuristic:endpoint_moved`: the new location comes from `Link`, `Location` or the error body,
//! the script rewrites the step's own URL (never a fixed one), and a moved endpoint whose new
//! body has another shape is healed by composing it with the response mapping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use suture_healer::{
    Candidate, EndpointMoved, FailureContext, Generator, ResponseMapping, compose,
};

fn moved(status: u16, headers: &[(&str, &str)], body: Value) -> FailureContext {
    let mut f = failure(contact_contract(), status, body);
    let response = f.response.as_mut().unwrap();
    for (k, v) in headers {
        response.headers.push(((*k).into(), (*v).into()));
    }
    f
}

fn generate(f: &FailureContext) -> Vec<Candidate> {
    block_on(EndpointMoved.generate(f))
}

fn contact(id: &str) -> Value {
    json!({"id": id, "email": format!("{id}@x.example"), "name": "Ada"})
}

/// Runs `candidate` for a request to `old_url`, with the vendor serving `routes`.
fn call(
    candidate: &Candidate,
    f: &FailureContext,
    old_url: &str,
    routes: Value,
) -> common::Execution {
    let mut ctx = f.sandbox_ctx();
    ctx["request"]["url"] = json!(old_url);
    common::execute(&candidate.source, &ctx, &routes).unwrap()
}

#[test]
fn link_successor_version_is_followed_as_a_path_transformation() {
    let f = moved(
        410,
        &[
            (
                "Link",
                "<https://api.vendor.test/docs>; rel=\"help\", <https://api.vendor.test/v2/contacts/42>; rel=\"successor-version\"",
            ),
            ("Sunset", "Sat, 01 Jun 2024 00:00:00 GMT"),
        ],
        json!({"error": "gone"}),
    );
    let candidates = generate(&f);
    let first = &candidates[0];
    assert_eq!(first.generator, "heuristic:endpoint_moved");
    assert!(
        first.diagnosis.starts_with(
            "endpoint `/v1/contacts/{id}` moved to `/v2/contacts/{id}` (from the Link header (rel=\"successor-version\"))"
        ),
        "{}",
        first.diagnosis
    );
    assert!(first.diagnosis.contains("Sunset/Deprecation"));
    assert!(
        !first.source.contains("42"),
        "the run's id must not be embedded:\n{}",
        first.source
    );

    let new_body = contact("42");
    let run = call(
        first,
        &f,
        "https://api.vendor.test/v1/contacts/42",
        json!({"https://api.vendor.test/v2/contacts/42": {"status": 200, "body": new_body}}),
    );
    assert_accepted(&f.contract, &run.output, &[&new_body]);
    assert_eq!(run.fetches[0]["method"], "GET");

    // Re-applied as an antibody on a later run for another contact.
    let later = contact("77");
    let run = call(
        first,
        &f,
        "https://api.vendor.test/v1/contacts/77?expand=org",
        json!({"https://api.vendor.test/v2/contacts/77?expand=org": {"status": 200, "body": later}}),
    );
    assert_eq!(run.output, later);
}

#[test]
fn relative_location_header_renaming_a_segment() {
    let f = moved(301, &[("Location", "/v1/people/42")], json!(null));
    let candidates = generate(&f);
    assert_eq!(candidates.len(), 1);
    assert!(
        candidates[0]
            .diagnosis
            .contains("moved to `/v1/people/{id}` (from the Location header)")
    );
    let body = contact("9");
    let run = call(
        &candidates[0],
        &f,
        "https://api.vendor.test/v1/contacts/9",
        json!({"https://api.vendor.test/v1/people/9": {"status": 200, "body": body}}),
    );
    assert_eq!(run.output, body);
}

#[test]
fn error_body_naming_a_path_template() {
    let f = moved(
        404,
        &[],
        json!({"error": {"code": "not_found",
        "message": "This endpoint has moved to /v2/contacts/{contact_id}. See https://docs.vendor.test/migration."}}),
    );
    let candidates = generate(&f);
    assert!(!candidates.is_empty());
    assert!(
        candidates[0]
            .diagnosis
            .contains("moved to `/v2/contacts/{id}` (from the error body)"),
        "{}",
        candidates[0].diagnosis
    );
    let body = contact("5");
    let run = call(
        &candidates[0],
        &f,
        "https://api.vendor.test/v1/contacts/5",
        json!({"https://api.vendor.test/v2/contacts/5": {"status": 200, "body": body}}),
    );
    assert_eq!(run.output, body);
}

#[test]
fn plain_text_400_naming_an_absolute_url() {
    let mut f = text_failure(
        contact_contract(),
        400,
        "text/plain",
        "API v1 is retired, use https://api.vendor.test/v3/contacts/42 instead",
    );
    f.request.url = "https://api.vendor.test/v1/contacts/42".into();
    let candidates = generate(&f);
    assert_eq!(candidates.len(), 1);
    assert!(candidates[0].diagnosis.contains("`/v3/contacts/{id}`"));
}

#[test]
fn other_hosts_are_never_followed() {
    let f = moved(
        301,
        &[("Location", "https://evil.test/v1/contacts/42")],
        json!(null),
    );
    assert!(generate(&f).is_empty());
    let f = moved(
        404,
        &[],
        json!({"message": "moved to https://other.vendor.test/v2/contacts/42"}),
    );
    assert!(generate(&f).is_empty());
}

#[test]
fn a_fixed_url_for_another_record_is_not_a_move() {
    let f = moved(
        301,
        &[("Location", "/v2/contacts/9f8e7d6c5b4a")],
        json!(null),
    );
    assert!(generate(&f).is_empty());
}

#[test]
fn not_found_without_a_new_location_gives_no_candidate() {
    let f = moved(
        404,
        &[],
        json!({"error": "Contact /v1/contacts/42 not found"}),
    );
    assert!(generate(&f).is_empty());
    let f = moved(200, &[], contact("1"));
    assert!(generate(&f).is_empty());
}

#[test]
fn the_script_refuses_a_request_url_of_another_shape() {
    let f = moved(308, &[("Location", "/v2/contacts/42")], json!(null));
    let candidate = &generate(&f)[0];
    let mut ctx = f.sandbox_ctx();
    ctx["request"]["url"] = json!("https://api.vendor.test/v1/orders/42");
    let err = common::execute(&candidate.source, &ctx, &json!({})).unwrap_err();
    assert!(err.contains("shape"), "{err}");
}

#[test]
fn a_failing_new_endpoint_fails_the_script() {
    let f = moved(308, &[("Location", "/v2/contacts/42")], json!(null));
    let candidate = &generate(&f)[0];
    let err = common::execute(&candidate.source, &f.sandbox_ctx(), &json!({})).unwrap_err();
    assert!(err.contains("404"), "{err}");
}

#[test]
fn moved_endpoint_with_a_new_shape_is_healed_by_composition() {
    let f = moved(
        410,
        &[("Link", "</v2/contacts/42>; rel=\"successor-version\"")],
        json!({"error": "gone"}),
    );
    let moved = &generate(&f)[0];
    let url = "https://api.vendor.test/v2/contacts/42";
    let new_body =
        json!({"data": {"id": "42", "emailAddress": "ada@x.example", "fullName": "Ada"}});

    // The pipeline runs the endpoint repair, sees a body that misses the contract, and asks the
    // response mapping about that body.
    let fetched = call(
        moved,
        &f,
        &f.request.url,
        json!({url: {"status": 200, "body": new_body}}),
    )
    .output;
    assert!(!schema_errors(&f.contract, &fetched).is_empty());
    let mapping = block_on(ResponseMapping.generate(&f.with_response_body(fetched))).remove(0);
    let both = compose(moved, &mapping).unwrap();
    assert_eq!(
        both.generator,
        "heuristic:endpoint_moved+heuristic:response_mapping"
    );

    let run = common::execute(
        &both.source,
        &f.sandbox_ctx(),
        &json!({url: {"status": 200, "body": new_body}}),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", both.source));
    assert_accepted(&f.contract, &run.output, &[&new_body]);
    assert_eq!(run.output["email"], "ada@x.example");
}
