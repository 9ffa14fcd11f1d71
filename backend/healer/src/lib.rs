//! The healer: repair generators that need no model, the provenance ("no invented data") check,
//! failure fingerprints, and the pipeline that runs candidates in the sandbox, validates them,
//! decides by heal mode and records every attempt.

mod coerce;
mod js;
mod mapping;
mod names;
mod schema;

pub mod compose;
pub mod endpoint;
pub mod failure;
pub mod fingerprint;
pub mod media_type;
pub mod pipeline;
pub mod provenance;
pub mod response_mapping;

pub use compose::{ComposeError, compose};
pub use endpoint::EndpointMoved;
pub use failure::{Candidate, Exchange, FailureContext, Generator, ResponseSeen};
pub use fingerprint::{error_signature, fingerprint};
pub use media_type::MediaType;
pub use pipeline::{HealOutcome, HealRequest, Healer};
pub use provenance::provenance_check;
pub use response_mapping::ResponseMapping;

/// The model-free generators, cheapest and most likely first.
pub fn builtin_generators() -> Vec<Box<dyn Generator>> {
    vec![
        Box::new(ResponseMapping),
        Box::new(EndpointMoved),
        Box::new(MediaType),
    ]
}
