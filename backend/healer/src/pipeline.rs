//! The healing pipeline for one failed step: fingerprint → reuse an active antibody → generate
//! candidates (cheapest first) → run each in the sandbox → validate (contract + provenance) →
//! decide by heal mode → record every attempt in the repair audit log.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use suture_domain::contract::Schema;
use suture_domain::failure::FailureClass;
use suture_domain::ids::{AntibodyId, RepairId, RunId, StepId, TenantId, WorkflowId};
use suture_domain::workflow::HealMode;
use suture_sandbox::{Engine, InjectedCredential, Limits, ScriptKind, ScriptRequest};
use suture_storage::Db;
use suture_storage::entities::{antibodies, repairs};

use crate::{
    Candidate, FailureContext, Generator, ResponseMapping, builtin_generators, compose,
    error_signature, fingerprint, provenance_check,
};

/// At most this many candidates are executed per failure, so a pathological failure cannot
/// hold a worker for long.
const MAX_CANDIDATES: usize = 8;

pub struct HealRequest {
    pub tenant: TenantId,
    pub run_id: RunId,
    pub step_id: StepId,
    pub workflow_id: WorkflowId,
    pub task_name: String,
    pub mode: HealMode,
    pub class: FailureClass,
    /// `host:port` of the vendor.
    pub tool: String,
    /// Method and generalised path.
    pub operation: String,
    pub failure: FailureContext,
    pub contract: Option<Schema>,
    pub allowed_hosts: Vec<String>,
    pub credentials: Vec<InjectedCredential>,
}

#[derive(Debug)]
pub enum HealOutcome {
    Healed {
        output: Value,
        repair_id: RepairId,
        reused: bool,
    },
    AwaitingApproval {
        repair_id: RepairId,
    },
    Unhealed {
        reason: String,
        repair_ids: Vec<RepairId>,
    },
}

#[derive(Clone)]
pub struct Healer {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    sandbox: Arc<dyn Engine>,
    generators: Vec<Box<dyn Generator>>,
}

/// The result of running and validating one candidate.
struct Trial {
    output: Option<Value>,
    accepted: bool,
    reasons: Vec<String>,
    log: Value,
    duration_ms: i64,
}

impl Healer {
    pub fn new(db: Db, sandbox: Arc<dyn Engine>) -> Self {
        Self::with_generators(db, sandbox, builtin_generators())
    }

    pub fn with_generators(
        db: Db,
        sandbox: Arc<dyn Engine>,
        generators: Vec<Box<dyn Generator>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                sandbox,
                generators,
            }),
        }
    }

    #[tracing::instrument(skip_all, fields(tenant.id = %req.tenant, run.id = %req.run_id, step.name = %req.task_name))]
    pub async fn heal(&self, req: HealRequest) -> HealOutcome {
        let signature = error_signature(&req.failure);
        let fp = fingerprint(
            &req.tenant.to_string(),
            &req.tool,
            &req.operation,
            req.class.as_str(),
            &signature,
        );
        let mut repair_ids = Vec::new();
        let mut reasons: Vec<String> = Vec::new();

        // 1. A known failure: re-apply its antibody (still validated).
        match self
            .inner
            .db
            .antibodies()
            .find_active(req.tenant, &fp)
            .await
        {
            Ok(Some(ab)) => {
                let candidate = Candidate {
                    generator: ab.generator.clone(),
                    diagnosis: format!("re-applied antibody {} (seen this failure before)", ab.id),
                    source: ab.patch_source.clone(),
                };
                let trial = self.try_candidate(&req, &candidate).await;
                let antibody = AntibodyId::from_uuid(ab.id);
                let outcome = if trial.accepted {
                    "accepted"
                } else {
                    "rejected"
                };
                match self
                    .record(&req, &fp, &candidate, &trial, outcome, true, Some(antibody))
                    .await
                {
                    Ok(id) => repair_ids.push(id),
                    Err(e) => tracing::error!(error = %e, "recording a repair failed"),
                }
                if trial.accepted {
                    let _ = self.inner.db.antibodies().record_use(antibody).await;
                    if let (Some(output), Some(id)) = (trial.output, repair_ids.last().copied()) {
                        return HealOutcome::Healed {
                            output,
                            repair_id: id,
                            reused: true,
                        };
                    }
                } else {
                    reasons.push(format!(
                        "the stored antibody no longer fits: {}",
                        trial.reasons.join("; ")
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "antibody lookup failed; generating afresh"),
        }

        // 2. Generate, cheapest first; the first candidate that validates wins.
        let mut tried = 0usize;
        for generator in &self.inner.generators {
            let candidates = generator.generate(&req.failure).await;
            for candidate in candidates {
                if tried >= MAX_CANDIDATES {
                    break;
                }
                tried += 1;
                let mut candidate = candidate;
                let mut trial = self.try_candidate(&req, &candidate).await;
                if !trial.accepted
                    && trial.output.is_some()
                    && generator.name() != ResponseMapping.name()
                {
                    // A repair that reached the vendor again (a moved endpoint) may return a
                    // body in a new shape too: map that body and compose the two scripts.
                    if let Some((composed, composed_trial)) =
                        self.compose_with_mapping(&req, &candidate, &trial).await
                    {
                        candidate = composed;
                        trial = composed_trial;
                    }
                }
                if !trial.accepted {
                    reasons.push(format!(
                        "{}: {}",
                        candidate.generator,
                        trial.reasons.join("; ")
                    ));
                    match self
                        .record(&req, &fp, &candidate, &trial, "rejected", false, None)
                        .await
                    {
                        Ok(id) => repair_ids.push(id),
                        Err(e) => tracing::error!(error = %e, "recording a repair failed"),
                    }
                    continue;
                }
                let Some(output) = trial.output.clone() else {
                    continue;
                };
                let (outcome, status) = match req.mode {
                    HealMode::Auto => ("accepted", "active"),
                    _ => ("pending_approval", "candidate"),
                };
                let repair_id = RepairId::new();
                let antibody = self
                    .inner
                    .db
                    .antibodies()
                    .insert(antibodies::Model {
                        id: AntibodyId::new().as_uuid(),
                        tenant_id: req.tenant.as_uuid(),
                        fingerprint: fp.clone(),
                        tool: req.tool.clone(),
                        operation: req.operation.clone(),
                        failure_class: req.class.as_str().to_string(),
                        generator: candidate.generator.clone(),
                        patch_source: candidate.source.clone(),
                        status: status.to_string(),
                        uses: 0,
                        source_repair_id: repair_id.as_uuid(),
                        created_at: chrono::Utc::now(),
                        last_used_at: None,
                        retired_at: None,
                    })
                    .await;
                let antibody_id = match antibody {
                    Ok(a) => Some(AntibodyId::from_uuid(a.id)),
                    Err(e) => {
                        tracing::error!(error = %e, "storing the antibody failed");
                        None
                    }
                };
                match self
                    .record_with_id(
                        repair_id,
                        &req,
                        &fp,
                        &candidate,
                        &trial,
                        outcome,
                        false,
                        antibody_id,
                    )
                    .await
                {
                    Ok(id) => repair_ids.push(id),
                    Err(e) => tracing::error!(error = %e, "recording a repair failed"),
                }
                return match req.mode {
                    HealMode::Auto => HealOutcome::Healed {
                        output,
                        repair_id,
                        reused: false,
                    },
                    _ => HealOutcome::AwaitingApproval { repair_id },
                };
            }
        }
        let reason = if reasons.is_empty() {
            describe_nothing_fits(&req.failure)
        } else {
            format!("no candidate repair validated ({})", reasons.join(" | "))
        };
        HealOutcome::Unhealed { reason, repair_ids }
    }

    async fn compose_with_mapping(
        &self,
        req: &HealRequest,
        first: &Candidate,
        trial: &Trial,
    ) -> Option<(Candidate, Trial)> {
        let body = trial.output.clone()?;
        let reshaped = req.failure.with_response_body(body);
        for mapping in ResponseMapping.generate(&reshaped).await {
            let Ok(composed) = compose(first, &mapping) else {
                continue;
            };
            let composed_trial = self.try_candidate(req, &composed).await;
            if composed_trial.accepted {
                return Some((composed, composed_trial));
            }
        }
        None
    }

    async fn try_candidate(&self, req: &HealRequest, candidate: &Candidate) -> Trial {
        let t0 = Instant::now();
        let request = ScriptRequest {
            kind: ScriptKind::Repair,
            source: candidate.source.clone(),
            ctx: req.failure.sandbox_ctx(),
            allowed_hosts: req.allowed_hosts.clone(),
            credentials: req.credentials.clone(),
            limits: Limits::default(),
        };
        match self.inner.sandbox.execute(request).await {
            Ok(out) => {
                let log = json!({ "logs": out.logs, "fetches": out.fetches });
                let mut reasons = Vec::new();
                match &req.contract {
                    Some(schema) => {
                        if let Err(violations) = schema.validate(&out.output) {
                            reasons.extend(violations.iter().map(|v| {
                                format!(
                                    "output {} {}",
                                    if v.instance_path.is_empty() {
                                        "/"
                                    } else {
                                        &v.instance_path
                                    },
                                    v.message
                                )
                            }));
                        }
                    }
                    None => {
                        if out.output.is_null() {
                            reasons.push("the repair returned nothing".into());
                        }
                    }
                }
                // No invented data: every value must come from what the vendor returned in this
                // attempt — the failing response or what the script fetched from the vendor.
                let mut seen: Vec<&Value> = Vec::new();
                if let Some(body) = req
                    .failure
                    .response
                    .as_ref()
                    .and_then(|r| r.body_json.as_ref())
                {
                    seen.push(body);
                }
                for f in &out.fetches {
                    if let Some(j) = &f.response_json {
                        seen.push(j);
                    }
                }
                if reasons.is_empty()
                    && let Err(invented) = provenance_check(&out.output, &seen)
                {
                    reasons.extend(invented.into_iter().map(|i| format!("invented data: {i}")));
                }
                Trial {
                    accepted: reasons.is_empty(),
                    output: Some(out.output),
                    reasons,
                    log,
                    duration_ms: t0.elapsed().as_millis() as i64,
                }
            }
            Err(failure) => Trial {
                output: None,
                accepted: false,
                reasons: vec![format!("sandbox: {}", failure.error)],
                log: json!({ "logs": failure.logs, "fetches": failure.fetches }),
                duration_ms: t0.elapsed().as_millis() as i64,
            },
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        req: &HealRequest,
        fp: &str,
        candidate: &Candidate,
        trial: &Trial,
        outcome: &str,
        reused: bool,
        antibody: Option<AntibodyId>,
    ) -> Result<RepairId, suture_storage::StorageError> {
        self.record_with_id(
            RepairId::new(),
            req,
            fp,
            candidate,
            trial,
            outcome,
            reused,
            antibody,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_with_id(
        &self,
        id: RepairId,
        req: &HealRequest,
        fp: &str,
        candidate: &Candidate,
        trial: &Trial,
        outcome: &str,
        reused: bool,
        antibody: Option<AntibodyId>,
    ) -> Result<RepairId, suture_storage::StorageError> {
        let failure = json!({
            "class": req.class.as_str(),
            "violations": req.failure.violations,
            "request": {
                "method": req.failure.request.method,
                "url": req.failure.request.url,
                "headers": req.failure.request.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            },
            "response": req.failure.response.as_ref().map(|r| json!({
                "status": r.status,
                "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "body_excerpt": excerpt(&r.body_text, 2048),
            })),
        });
        self.inner
            .db
            .repairs()
            .insert(repairs::Model {
                id: id.as_uuid(),
                tenant_id: req.tenant.as_uuid(),
                run_id: req.run_id.as_uuid(),
                step_id: Some(req.step_id.as_uuid()),
                workflow_id: req.workflow_id.as_uuid(),
                task_name: req.task_name.clone(),
                tool: req.tool.clone(),
                operation: req.operation.clone(),
                failure_class: req.class.as_str().to_string(),
                fingerprint: fp.to_string(),
                failure,
                diagnosis: candidate.diagnosis.clone(),
                generator: candidate.generator.clone(),
                patch_source: candidate.source.clone(),
                sandbox_log: trial.log.clone(),
                verdict: json!({ "accepted": trial.accepted, "reasons": trial.reasons }),
                outcome: outcome.to_string(),
                antibody_id: antibody.map(|a| a.as_uuid()),
                reused,
                duration_ms: trial.duration_ms,
                approved_by: None,
                created_at: chrono::Utc::now(),
            })
            .await?;
        Ok(id)
    }
}

fn describe_nothing_fits(failure: &FailureContext) -> String {
    if failure.violations.is_empty() {
        "no repair applies to this failure (nothing in the vendor's answer points to a new endpoint or shape)".to_string()
    } else {
        format!(
            "nothing in the vendor's response can satisfy the contract ({})",
            failure.violations.join("; ")
        )
    }
}

fn excerpt(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
