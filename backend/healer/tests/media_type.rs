//! `heuristic:media_type`: CSV or XML where JSON was expected, parsed and mapped by the script.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use suture_healer::{Generator, MediaType};

#[test]
fn csv_with_one_record_is_read_and_mapped() {
    let contract = json!({
        "type": "object",
        "required": ["id", "email", "balance"],
        "properties": {"id": {"type": "integer"}, "email": {"type": "string"}, "balance": {"type": "number"}}
    });
    let text = "id,email_address,balance,note\r\n17,ada@x.example,12.50,\"likes, commas\"\r\n";
    let f = text_failure(contract.clone(), 200, "text/csv", text);
    let candidates = block_on(MediaType.generate(&f));
    assert_eq!(candidates.len(), 1);
    let c = &candidates[0];
    assert!(
        c.diagnosis
            .starts_with("the vendor now answers CSV instead of JSON; "),
        "{}",
        c.diagnosis
    );
    assert!(
        c.diagnosis.contains("field `email` is now `email_address`"),
        "{}",
        c.diagnosis
    );
    let out = run(c, &f).output;
    assert_eq!(
        out,
        json!({"id": 17, "email": "ada@x.example", "balance": 12.5, "note": "likes, commas"})
    );
    assert_accepted(&contract, &out, &[&json!(text)]);
    let invented = json!({"id": 17, "email": "eve@x.example", "balance": 12.5});
    assert!(suture_healer::provenance_check(&invented, &[&json!(text)]).is_err());
}

#[test]
fn xml_with_one_record_is_read_and_mapped() {
    let contract = contact_contract();
    let text = r#"<?xml version="1.0"?><response><contact><id>c_1</id><email>a&amp;b@x.example</email><name>Ada</name></contact></response>"#;
    let f = text_failure(contract.clone(), 200, "application/xml", text);
    let candidates = block_on(MediaType.generate(&f));
    assert_eq!(candidates.len(), 1);
    let out = run(&candidates[0], &f).output;
    assert_eq!(
        out,
        json!({"id": "c_1", "email": "a&b@x.example", "name": "Ada"})
    );
    assert_accepted(&contract, &out, &[&json!(text)]);
}

#[test]
fn several_records_or_json_bodies_are_left_alone() {
    let csv = "id,email,name\n1,a@x.example,A\n2,b@x.example,B\n";
    let f = text_failure(contact_contract(), 200, "text/csv", csv);
    assert!(block_on(MediaType.generate(&f)).is_empty());
    let f = failure(contact_contract(), 200, json!({"id": "1"}));
    assert!(block_on(MediaType.generate(&f)).is_empty());
}
