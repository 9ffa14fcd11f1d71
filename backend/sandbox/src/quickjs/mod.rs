//! The QuickJS engine: a fresh runtime and context per execution on a blocking thread, limits
//! enforced by QuickJS itself (memory limit, stack size, interrupt handler), and the job queue
//! driven by hand so promises settle without any async runtime inside the sandbox.

mod host;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rquickjs::{Context, Ctx, FromJs, Function, Module, Object, Promise, Runtime, Value};
use suture_egress::EgressClient;
use tokio::sync::Semaphore;

use crate::api::{Engine, SandboxError, SandboxFailure, ScriptKind, ScriptOutcome, ScriptRequest};
use host::{Host, Record, SharedRecord, lock, normalise_host};

const PRELUDE: &str = include_str!("prelude.js");
/// Deep enough for ordinary recursion, small enough to fail long before the thread's own stack.
const MAX_STACK_BYTES: usize = 256 * 1024;
/// How long past its wall time a run may go before the caller stops waiting for its thread
/// (only reachable if QuickJS sits in one long native call that never checks for interrupts).
const STUCK_GRACE: Duration = Duration::from_secs(1);

/// The QuickJS (rquickjs) implementation of [`Engine`].
#[derive(Debug, Clone)]
pub struct QuickJsEngine {
    egress: EgressClient,
    slots: Arc<Semaphore>,
}

impl QuickJsEngine {
    /// At most as many concurrent executions as the machine has cores: each run is CPU-bound
    /// and may hold its whole memory budget.
    pub fn new(egress: EgressClient) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::with_max_concurrent(egress, cores)
    }

    pub fn with_max_concurrent(egress: EgressClient, max_concurrent: usize) -> Self {
        Self {
            egress,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
        }
    }
}

#[async_trait::async_trait]
impl Engine for QuickJsEngine {
    async fn execute(&self, req: ScriptRequest) -> Result<ScriptOutcome, SandboxFailure> {
        let record: SharedRecord = Arc::new(Mutex::new(Record::default()));
        let started = Instant::now();
        let fail = |error: SandboxError, record: &SharedRecord, started: Instant| {
            let record = lock(record);
            SandboxFailure {
                error,
                logs: record.logs.clone(),
                fetches: record.fetches.clone(),
                duration: started.elapsed(),
            }
        };
        let permit = match self.slots.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => {
                return Err(fail(
                    SandboxError::Engine("the engine is shut down".into()),
                    &record,
                    started,
                ));
            }
        };
        let wall_time = req.limits.wall_time;
        let egress = self.egress.clone();
        let handle = tokio::runtime::Handle::current();
        let thread_record = record.clone();
        let job = tokio::task::spawn_blocking(move || {
            // The slot stays taken until the thread really ends, even if the caller gave up.
            let _permit = permit;
            run(req, egress, handle, thread_record)
        });
        let result = match tokio::time::timeout(wall_time + STUCK_GRACE, job).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(SandboxError::Engine(format!(
                "the sandbox thread failed: {join}"
            ))),
            Err(_) => Err(SandboxError::Timeout {
                after_ms: millis(wall_time),
            }),
        };
        match result {
            Ok(output) => {
                let record = lock(&record);
                Ok(ScriptOutcome {
                    output,
                    logs: record.logs.clone(),
                    fetches: record.fetches.clone(),
                    duration: started.elapsed(),
                })
            }
            Err(error) => Err(fail(error, &record, started)),
        }
    }

    fn name(&self) -> &'static str {
        "quickjs"
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One execution, start to finish, on the current (blocking) thread.
fn run(
    req: ScriptRequest,
    egress: EgressClient,
    handle: tokio::runtime::Handle,
    record: SharedRecord,
) -> Result<serde_json::Value, SandboxError> {
    let limits = req.limits.clone();
    let deadline = Instant::now() + limits.wall_time;
    let host = Arc::new(Host {
        egress,
        handle,
        deadline,
        allowed_hosts: req
            .allowed_hosts
            .iter()
            .map(|h| normalise_host(h))
            .collect::<HashSet<_>>(),
        credentials: req.credentials.clone(),
        max_fetches: limits.max_fetches,
        max_log_bytes: limits.max_log_bytes,
        record,
    });
    let engine_error = |e: rquickjs::Error| SandboxError::Engine(e.to_string());
    let runtime = Runtime::new().map_err(engine_error)?;
    runtime.set_memory_limit(limits.memory_bytes);
    runtime.set_max_stack_size(MAX_STACK_BYTES);
    runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() >= deadline)));
    // No loader is installed, so every `import` (static or dynamic) fails to resolve; QuickJS's
    // std/os modules are never registered.
    let context = Context::full(&runtime).map_err(engine_error)?;
    let output = context.with(|ctx| {
        let run = Run {
            ctx: ctx.clone(),
            deadline,
            wall_time: limits.wall_time,
        };
        run.execute(&req, &host)
    });
    let output = output?;
    if output.len() > limits.max_output_bytes {
        return Err(SandboxError::OutputTooLarge);
    }
    serde_json::from_str(&output).map_err(|e| SandboxError::InvalidOutput(e.to_string()))
}

struct Run<'js> {
    ctx: Ctx<'js>,
    deadline: Instant,
    wall_time: Duration,
}

impl<'js> Run<'js> {
    /// Returns the output as JSON text, serialised inside the engine.
    fn execute(&self, req: &ScriptRequest, host: &Arc<Host>) -> Result<String, SandboxError> {
        self.install_host(host).map_err(|e| self.error(e))?;
        self.ctx.eval::<(), _>(PRELUDE).map_err(|e| self.error(e))?;
        let ctx_json =
            serde_json::to_string(&req.ctx).map_err(|e| SandboxError::Engine(e.to_string()))?;
        let argument = self.ctx.json_parse(ctx_json).map_err(|e| self.error(e))?;
        let returned = match req.kind {
            ScriptKind::Repair => self.call_repair(&req.source, argument),
            ScriptKind::Task => self.call_task(&req.source, argument),
        }
        .map_err(|e| self.error(e))?;
        let value = self.settle(returned)?;
        self.serialise(value)
    }

    fn install_host(&self, host: &Arc<Host>) -> rquickjs::Result<()> {
        let globals = self.ctx.globals();
        let fetch_host = host.clone();
        globals.set(
            "__host_fetch",
            Function::new(
                self.ctx.clone(),
                move |method: String, url: String, headers: String, body: Option<String>| {
                    fetch_host.fetch(method, url, headers, body)
                },
            )?,
        )?;
        let log_host = host.clone();
        globals.set(
            "__host_log",
            Function::new(self.ctx.clone(), move |level: String, message: String| {
                log_host.log(&level, message);
            })?,
        )?;
        Ok(())
    }

    fn call_repair(&self, source: &str, ctx_arg: Value<'js>) -> rquickjs::Result<Value<'js>> {
        let module = Module::declare(self.ctx.clone(), "repair.js", source)?;
        let (module, evaluated) = module.eval()?;
        self.drive(&evaluated)?;
        // A rejected evaluation (a throw at module top level) surfaces here as the exception.
        evaluated.result::<Value>().transpose()?;
        let repair: Value = module.get("default")?;
        let Some(repair) = repair.as_function() else {
            return Err(rquickjs::Exception::throw_type(
                &self.ctx,
                "the repair module must `export default async function repair(ctx)`",
            ));
        };
        repair.call((ctx_arg,))
    }

    fn call_task(&self, source: &str, input: Value<'js>) -> rquickjs::Result<Value<'js>> {
        self.ctx.globals().set("input", input.clone())?;
        // Built with the AsyncFunction constructor rather than by pasting the source into a
        // wrapper string on the host side. QuickJS still lets a body close the wrapper early, which
        // only changes when the code runs: the realm and its (lack of) authority stay the same.
        let async_function: Function = self.ctx.eval("(async function () {}).constructor")?;
        let task: Function = async_function.call(("input", source))?;
        task.call((input,))
    }

    /// Runs the job queue until `promise` settles, the deadline passes, or nothing can run.
    fn drive(&self, promise: &Promise<'js>) -> rquickjs::Result<()> {
        while promise.state() == rquickjs::promise::PromiseState::Pending {
            if Instant::now() >= self.deadline {
                return Err(rquickjs::Exception::throw_internal(
                    &self.ctx,
                    "interrupted",
                ));
            }
            if !self.ctx.execute_pending_job() {
                return Err(rquickjs::Exception::throw_message(
                    &self.ctx,
                    "the script is waiting for a promise that can never settle",
                ));
            }
        }
        Ok(())
    }

    fn settle(&self, returned: Value<'js>) -> Result<Value<'js>, SandboxError> {
        let Some(promise) = returned.as_promise() else {
            return Ok(returned);
        };
        self.drive(promise).map_err(|e| self.error(e))?;
        match promise.result::<Value>() {
            Some(result) => result.map_err(|e| self.error(e)),
            None => Err(SandboxError::Engine(
                "a settled promise had no result".into(),
            )),
        }
    }

    fn serialise(&self, value: Value<'js>) -> Result<String, SandboxError> {
        let kind = value.type_name();
        match self.ctx.json_stringify(value) {
            Ok(Some(text)) => text
                .to_string()
                .map_err(|e| SandboxError::Engine(e.to_string())),
            Ok(None) => Err(SandboxError::InvalidOutput(format!(
                "the script returned {kind}; it must return a JSON value (object, array, string, number, boolean or null)"
            ))),
            Err(e) => match self.error(e) {
                SandboxError::ScriptError { message, .. } => {
                    Err(SandboxError::InvalidOutput(message))
                }
                other => Err(other),
            },
        }
    }

    /// Turns an engine error (usually a pending JS exception) into the sandbox's verdict.
    fn error(&self, err: rquickjs::Error) -> SandboxError {
        let timed_out = Instant::now() >= self.deadline;
        let timeout = || SandboxError::Timeout {
            after_ms: millis(self.wall_time),
        };
        match err {
            rquickjs::Error::Exception => {
                let thrown = self.ctx.catch();
                self.thrown(thrown, timed_out).unwrap_or_else(|| {
                    if timed_out {
                        timeout()
                    } else {
                        SandboxError::OutOfMemory
                    }
                })
            }
            rquickjs::Error::Allocation => SandboxError::OutOfMemory,
            _ if timed_out => timeout(),
            other => SandboxError::Engine(other.to_string()),
        }
    }

    /// Classifies a thrown value; None when nothing usable was thrown (QuickJS could not even
    /// allocate the error object).
    fn thrown(&self, thrown: Value<'js>, timed_out: bool) -> Option<SandboxError> {
        if thrown.type_of() == rquickjs::Type::Uninitialized {
            return None;
        }
        let Some(object) = thrown.as_object() else {
            let message = rquickjs::convert::Coerced::<String>::from_js(&self.ctx, thrown)
                .map(|c| c.0)
                .unwrap_or_else(|_| "a value that is not an Error was thrown".to_owned());
            return Some(SandboxError::ScriptError {
                message,
                stack: None,
            });
        };
        let name = text_property(object, "name").unwrap_or_else(|| "Error".to_owned());
        let message = text_property(object, "message").unwrap_or_default();
        match (name.as_str(), message.as_str()) {
            ("FetchDenied", _) => Some(SandboxError::FetchDenied {
                url: text_property(object, "url").unwrap_or_default(),
            }),
            ("TooManyFetches", _) => Some(SandboxError::TooManyFetches),
            ("InternalError", "interrupted") if timed_out => Some(SandboxError::Timeout {
                after_ms: millis(self.wall_time),
            }),
            ("InternalError", "out of memory") => Some(SandboxError::OutOfMemory),
            _ => Some(SandboxError::ScriptError {
                message: format!("{name}: {message}"),
                stack: text_property(object, "stack").filter(|s| !s.is_empty()),
            }),
        }
    }
}

fn text_property(object: &Object<'_>, key: &str) -> Option<String> {
    object
        .get::<_, Option<rquickjs::convert::Coerced<String>>>(key)
        .ok()
        .flatten()
        .map(|c| c.0)
}
