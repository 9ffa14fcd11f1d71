//! Chaining two repair modules into one: the first fetches (e.g. a moved endpoint), the second
//! maps what it fetched onto the contract. Each module keeps its own scope, so their helper
//! functions cannot clash.

use crate::failure::Candidate;
use crate::js::ENTRY;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ComposeError {
    #[error("`{generator}` is not a single `export default async function repair(ctx)` module")]
    NotARepairModule { generator: String },
}

/// One module that runs `first`, then runs `then` with the first one's result as
/// `ctx.response.body` (status 200), returning what `then` returns.
pub fn compose(first: &Candidate, then: &Candidate) -> Result<Candidate, ComposeError> {
    let a = as_factory(first)?;
    let b = as_factory(then)?;
    let why = format!("{}; then {}", first.diagnosis, then.diagnosis);
    let generator = format!("{}+{}", first.generator, then.generator);
    let source = format!(
        "// Suture repair composed of {} then {}.\n\
         // Why: {}\n\n\
         const first = (() => {{\n{a}}})();\n\n\
         const then = (() => {{\n{b}}})();\n\n\
         {ENTRY}\n\
         \x20 const body = await first(ctx);\n\
         \x20 log(\"mapping the answer of the first repair onto the contract\");\n\
         \x20 const response = {{ status: 200, headers: {{}}, body, text: JSON.stringify(body) }};\n\
         \x20 return then({{ ...ctx, response }});\n\
         }}\n",
        first.generator,
        then.generator,
        crate::js::comment(&why),
    );
    Ok(Candidate {
        generator,
        diagnosis: why,
        source,
    })
}

/// The module's text with its entry point turned into the value of a function scope.
fn as_factory(candidate: &Candidate) -> Result<String, ComposeError> {
    let not_module = || ComposeError::NotARepairModule {
        generator: candidate.generator.clone(),
    };
    let src = &candidate.source;
    if src.matches(ENTRY).count() != 1
        || src.matches("export ").count() != 1
        || src.contains("import ")
    {
        return Err(not_module());
    }
    Ok(src.replacen(ENTRY, "return async function repair(ctx) {", 1))
}
