//! `heuristic:response_mapping`: the vendor answered, but not in the contract's shape (a field
//! renamed, the payload wrapped in an envelope, a type or format changed). Emits a script that
//! rebuilds the contract's object from the new paths, or nothing when the answer cannot fit.

use crate::failure::{Candidate, FailureContext, Generator};
use crate::js;
use crate::mapping;

pub const RESPONSE_MAPPING: &str = "heuristic:response_mapping";

/// Maps a 2xx JSON body onto the output contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct ResponseMapping;

#[async_trait::async_trait]
impl Generator for ResponseMapping {
    fn name(&self) -> &'static str {
        RESPONSE_MAPPING
    }

    async fn generate(&self, failure: &FailureContext) -> Vec<Candidate> {
        let Some(response) = &failure.response else {
            return Vec::new();
        };
        let Some(body) = &response.body_json else {
            return Vec::new();
        };
        if !(200..300).contains(&response.status) {
            return Vec::new();
        }
        candidate_for_body(&failure.contract, body, "ctx.response.body")
            .into_iter()
            .collect()
    }
}

/// The mapping candidate for `body`, reading it at runtime from the JS expression `body_expr`.
fn candidate_for_body(
    contract: &serde_json::Value,
    body: &serde_json::Value,
    body_expr: &str,
) -> Option<Candidate> {
    let (diagnosis, rendered) = mapping_parts(contract, body, false)?;
    let entry = format!("  const body = {body_expr};\n  return {};", rendered.call);
    Some(Candidate {
        generator: RESPONSE_MAPPING.to_string(),
        source: js::module(RESPONSE_MAPPING, &diagnosis, &rendered.definitions, &entry),
        diagnosis,
    })
}

/// The diagnosis and JavaScript mapping `body` (a JS variable named `body`) onto the contract;
/// `None` when the contract cannot be satisfied, or when nothing needs mapping and
/// `allow_identity` is false.
pub(crate) fn mapping_parts(
    contract: &serde_json::Value,
    body: &serde_json::Value,
    allow_identity: bool,
) -> Option<(String, mapping::Rendered)> {
    let plan = match mapping::plan(contract, body) {
        Ok(plan) => plan,
        Err(why) => {
            tracing::debug!(healer.generator = RESPONSE_MAPPING, reason = %why, "no candidate");
            return None;
        }
    };
    if plan.is_identity() && !allow_identity {
        return None;
    }
    Some((mapping::describe(&plan), mapping::render(&plan, "body")))
}
