//! `run: script` (JavaScript) — executed in the sandbox with the task input and no host access.

use serde_json::Value;
use suture_domain::failure::FailureClass;
use suture_domain::workflow::{ScriptTask, TaskDef};
use suture_sandbox::{Limits, ScriptKind, ScriptRequest};

use super::{TaskEnv, TaskOutcome};
use crate::executor::problem;

pub async fn execute(
    env: &TaskEnv<'_>,
    task: &TaskDef,
    script: &ScriptTask,
    input: &Value,
) -> TaskOutcome {
    let ctx = match &script.arguments {
        Some(args) => match args.eval(input, env.scope) {
            Ok(v) => v,
            Err(e) => {
                return TaskOutcome::failed(problem(
                    FailureClass::Expression,
                    400,
                    "invalid script arguments",
                    e.to_string(),
                    &task.pointer,
                ));
            }
        },
        None => input.clone(),
    };
    let request = ScriptRequest {
        kind: ScriptKind::Task,
        source: script.code.clone(),
        ctx,
        allowed_hosts: vec![],
        credentials: vec![],
        limits: Limits::default(),
    };
    match env.deps.sandbox.execute(request).await {
        Ok(out) => TaskOutcome::done(out.output),
        Err(failure) => TaskOutcome::failed(problem(
            FailureClass::Runtime,
            500,
            "script failed",
            failure.error.to_string(),
            &task.pointer,
        )),
    }
}
