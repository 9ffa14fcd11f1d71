//! The "no invented data" rule and failure fingerprints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use suture_healer::{builtin_generators, error_signature, fingerprint, provenance_check};

#[test]
fn provenance_accepts_mapped_and_coerced_values() {
    let vendor = json!({"data": {"attributes": {
        "email_address": "ada@x.example", "price": "19.99", "stock": 42, "price_cents": 1999,
        "created": 1714557600, "updated_ms": 1714557600123_i64, "active": "true", "seen": "2024-05-01T12:00:00+02:00"
    }}});
    let output = json!({
        "email": "ada@x.example", "price": 19.99, "stock": "42", "amount": 19.99,
        "created_at": "2024-05-01T10:00:00.000Z", "updated_at": "2024-05-01T10:00:00.123Z",
        "active": true, "seen": 1714557600, "nothing": null, "tags": [], "meta": {}
    });
    assert_eq!(provenance_check(&output, &[&vendor]), Ok(()));
}

#[test]
fn provenance_rejects_invented_values_with_their_pointer() {
    let vendor = json!({"id": "c_1", "email_address": "ada@x.example", "count": 3});
    let output = json!({"id": "c_1", "email": "x@example.com", "items": [{"n": 4}], "a/b": false});
    let errors = provenance_check(&output, &[&vendor]).unwrap_err();
    assert_eq!(
        errors,
        vec![
            "/email: string not found in any vendor response",
            "/items/0/n: number not found in any vendor response",
            "/a~1b: boolean not found in any vendor response",
        ]
    );
    assert!(
        !errors.concat().contains("x@example.com"),
        "reports must not echo values"
    );
}

#[test]
fn provenance_sees_every_vendor_body() {
    let original = json!({"error": "moved"});
    let fetched = json!({"id": "c_2"});
    assert!(provenance_check(&json!({"id": "c_2"}), &[&original]).is_err());
    assert_eq!(
        provenance_check(&json!({"id": "c_2"}), &[&original, &fetched]),
        Ok(())
    );
}

#[test]
fn signature_is_stable_across_runs_with_different_data() {
    let contract = contact_contract();
    let a = failure(
        contract.clone(),
        200,
        json!({"id": "c_1", "email_address": "a@x.example", "name": 5}),
    );
    let b = failure(
        contract,
        200,
        json!({"id": "c_9", "email_address": "zed@y.example", "name": 7}),
    );
    assert!(!a.violations.is_empty());
    let sig = error_signature(&a);
    assert_eq!(sig, error_signature(&b));
    assert_eq!(sig, "200|application/json|/name:type:string,required:email");
    for value in ["c_1", "a@x.example", "5"] {
        assert!(!sig.contains(value), "{sig} leaks {value}");
    }
}

#[test]
fn signature_normalises_paths_and_unknown_messages() {
    let mut f = failure(contact_contract(), 200, json!({}));
    f.violations = vec![
        r#"/items/3/price: "12.5" is not of type "number""#.into(),
        r#"/items/0/price: "7" is not of type "number""#.into(),
        r#"items[2].sku: value 'ABC-1' looks odd (code 17)"#.into(),
    ];
    assert_eq!(
        error_signature(&f),
        "200|application/json|/items/*/price:type:number,items[*].sku:value _ looks odd (code _)"
    );
    f.response = None;
    assert!(error_signature(&f).starts_with("no-response|-|"));
}

#[test]
fn fingerprint_is_sha256_hex_of_unambiguous_parts() {
    let fp = fingerprint(
        "t1",
        "hubspot",
        "get_contact",
        "contract",
        "200|application/json|required:email",
    );
    assert_eq!(fp.len(), 64);
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        fp,
        fingerprint(
            "t1",
            "hubspot",
            "get_contact",
            "contract",
            "200|application/json|required:email"
        )
    );
    assert_ne!(
        fp,
        fingerprint(
            "t2",
            "hubspot",
            "get_contact",
            "contract",
            "200|application/json|required:email"
        )
    );
    // Moving a character between parts changes the hash.
    assert_ne!(
        fingerprint("ab", "c", "x", "y", "z"),
        fingerprint("a", "bc", "x", "y", "z")
    );
}

#[test]
fn builtin_generators_are_listed_cheapest_first() {
    let names: Vec<&str> = builtin_generators().iter().map(|g| g.name()).collect();
    assert_eq!(
        names,
        [
            "heuristic:response_mapping",
            "heuristic:endpoint_moved",
            "heuristic:media_type"
        ]
    );
}
