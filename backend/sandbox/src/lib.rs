//! The JavaScript sandbox of SPEC §5: runs repair modules and `run: script` tasks with no ambient
//! authority. The only ways out are the host API (`fetch` to allow-listed hosts through the guarded
//! egress client, `log`); every run is bounded in time, memory, output, log and fetch count.

mod api;
mod quickjs;

pub use api::{
    Engine, FetchRecord, InjectedCredential, Limits, LogLine, SandboxError, SandboxFailure,
    ScriptKind, ScriptOutcome, ScriptRequest,
};
pub use quickjs::QuickJsEngine;
