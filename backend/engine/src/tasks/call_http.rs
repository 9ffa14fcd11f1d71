//! `call: http` with healing: transient faults are retried; a response that breaks the step's
//! contract, or a request the vendor no longer accepts, goes to the healer; revoked access and
//! other vendor errors fail loudly.

use std::time::Duration;

use serde_json::Value;
use suture_domain::failure::{FailureClass, Problem};
use suture_domain::workflow::{HealMode, HttpCall, TaskDef};
use suture_egress::OutboundResponse;
use suture_healer::{Exchange, FailureContext, HealOutcome, HealRequest, ResponseSeen};
use suture_sandbox::InjectedCredential;

use super::http::{self, PreparedRequest};
use super::{TaskEnv, TaskOutcome};
use crate::attempts::Attempt;
use crate::classify::{Verdict, classify_status};
use crate::executor::{problem, violation_text};
use crate::retry::RetryPolicy;

/// Default per-attempt timeout when the task sets none.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn execute(
    env: &TaskEnv<'_>,
    task: &TaskDef,
    call: &HttpCall,
    input: &Value,
) -> TaskOutcome {
    let idempotency_key = format!(
        "suture-{}-{}-{}",
        env.run_id, env.position, env.attempt_group
    );
    let req = match http::prepare(call, input, env.scope, &idempotency_key) {
        Ok(r) => r,
        Err(e) => {
            let class = match e {
                http::PrepareError::Expression(_) => FailureClass::Expression,
                _ => FailureClass::Configuration,
            };
            return TaskOutcome::failed(problem(
                class,
                400,
                "cannot build the HTTP request",
                e.to_string(),
                &task.pointer,
            ));
        }
    };
    let timeout = task.timeout.unwrap_or(DEFAULT_CALL_TIMEOUT);
    let result =
        http::send_with_retries(&env.deps.egress, &req, &RetryPolicy::default(), timeout).await;
    let attempts = result.attempts;
    let resp = match result.last {
        Ok(resp) => resp,
        Err(e) => {
            let class = if e.is_transient() {
                FailureClass::Unavailable
            } else {
                FailureClass::Configuration
            };
            let title = if e.is_transient() {
                "vendor unreachable"
            } else {
                "request refused"
            };
            let detail = format!(
                "{} (after {} attempt{})",
                e,
                attempts.len(),
                if attempts.len() == 1 { "" } else { "s" }
            );
            return TaskOutcome::Failed {
                problem: problem(class, 503, title, detail, &task.pointer),
                attempts,
                repair_ids: vec![],
            };
        }
    };
    let (body, body_json) = http::decode_body(&resp);
    let contract = task.output.as_ref().and_then(|o| o.schema.as_ref());

    match classify_status(resp.status) {
        Verdict::Success => {
            let output = http::shape_output(call.output, &resp, body.clone());
            let violations = match contract.map(|c| c.validate(&output)) {
                None | Some(Ok(())) => {
                    return TaskOutcome::Done {
                        output,
                        attempts,
                        repair_ids: vec![],
                        healed: false,
                    };
                }
                Some(Err(v)) => v,
            };
            let messages: Vec<String> = violations.iter().map(violation_text).collect();
            let original = problem(
                FailureClass::Validation,
                502,
                "vendor response does not match the step's output contract",
                messages.join("; "),
                &task.pointer,
            );
            heal(
                env, task, input, &req, &resp, body_json, messages, original, attempts,
            )
            .await
        }
        Verdict::Transient => {
            let detail = format!(
                "{} answered {} on {} attempt{}: {}",
                req.host_port(),
                resp.status,
                attempts.len(),
                if attempts.len() == 1 { "" } else { "s" },
                http::excerpt(&resp.body, 300)
            );
            TaskOutcome::Failed {
                problem: problem(
                    FailureClass::Unavailable,
                    503,
                    "vendor still failing after retries",
                    detail,
                    &task.pointer,
                ),
                attempts,
                repair_ids: vec![],
            }
        }
        Verdict::Auth => {
            let kind = if resp.status == 401 {
                "authentication"
            } else {
                "authorization"
            };
            let detail = format!(
                "{} refused the call with {} ({kind}); credentials may be revoked or lack permission. Healing never works around access control: fix the credential, then resume the run. Vendor said: {}",
                req.host_port(),
                resp.status,
                http::excerpt(&resp.body, 300)
            );
            let mut p = problem(
                FailureClass::Auth,
                resp.status,
                &format!("{kind} failed"),
                detail,
                &task.pointer,
            );
            if resp.status == 403 {
                p.r#type = suture_domain::failure::ErrorKind::Authorization
                    .dsl_type_uri()
                    .to_string();
            }
            TaskOutcome::Failed {
                problem: p,
                attempts,
                repair_ids: vec![],
            }
        }
        Verdict::RequestContract => {
            let original = problem(
                FailureClass::Contract,
                resp.status,
                "vendor rejected the request",
                format!(
                    "{} {} answered {}: {}",
                    req.method,
                    req.url,
                    resp.status,
                    http::excerpt(&resp.body, 300)
                ),
                &task.pointer,
            );
            heal(
                env,
                task,
                input,
                &req,
                &resp,
                body_json,
                vec![],
                original,
                attempts,
            )
            .await
        }
        Verdict::VendorError => TaskOutcome::Failed {
            problem: problem(
                FailureClass::Runtime,
                502,
                "vendor error",
                format!(
                    "{} {} answered {}: {}",
                    req.method,
                    req.url,
                    resp.status,
                    http::excerpt(&resp.body, 300)
                ),
                &task.pointer,
            ),
            attempts,
            repair_ids: vec![],
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn heal(
    env: &TaskEnv<'_>,
    task: &TaskDef,
    input: &Value,
    req: &PreparedRequest,
    resp: &OutboundResponse,
    body_json: Option<Value>,
    violations: Vec<String>,
    original: Problem,
    attempts: Vec<Attempt>,
) -> TaskOutcome {
    if env.heal_mode == HealMode::Off {
        return TaskOutcome::Failed {
            problem: original,
            attempts,
            repair_ids: vec![],
        };
    }
    let contract = task.output.as_ref().and_then(|o| o.schema.clone());
    let failure = FailureContext {
        input: input.clone(),
        contract: contract
            .as_ref()
            .map(|c| c.raw().clone())
            .unwrap_or(Value::Null),
        request: Exchange {
            method: req.method.to_string(),
            url: req.url.to_string(),
            headers: req
                .redacted_headers()
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect(),
            body: req.body_json.clone(),
        },
        response: Some(ResponseSeen {
            status: resp.status,
            headers: resp.headers.clone(),
            body_text: http::excerpt(&resp.body, 64 * 1024),
            body_json: body_json.clone(),
        }),
        violations,
    };
    let host = req.host_port();
    let request = HealRequest {
        tenant: env.tenant,
        run_id: env.run_id,
        step_id: env.step_id,
        workflow_id: env.workflow_id,
        task_name: task.name.clone(),
        mode: env.heal_mode,
        class: FailureClass::Contract,
        tool: host.clone(),
        operation: req.operation(),
        failure,
        contract,
        allowed_hosts: vec![host.clone()],
        credentials: vec![InjectedCredential {
            host,
            headers: req.secret_headers(),
        }],
    };
    match env.deps.healer.heal(request).await {
        HealOutcome::Healed {
            output, repair_id, ..
        } => TaskOutcome::Done {
            output,
            attempts,
            repair_ids: vec![repair_id],
            healed: true,
        },
        HealOutcome::AwaitingApproval { repair_id } => TaskOutcome::AwaitingApproval { repair_id },
        HealOutcome::Unhealed { reason, repair_ids } => {
            let mut p = original;
            p.detail = format!("{} — not healed: {}", p.detail, reason);
            if p.r#type == FailureClass::Contract.dsl_type_uri() && resp.status == 404 {
                p.title =
                    "vendor answered 404 and no repair applies (the data may no longer exist)"
                        .into();
            }
            TaskOutcome::Failed {
                problem: p,
                attempts,
                repair_ids,
            }
        }
    }
}
