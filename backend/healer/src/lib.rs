//! The healer: repair generators that need no model, the provenance ("no invented data") check
//! and failure fingerprints. The pipeline that runs candidates in the sandbox lives beside them.

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
pub mod provenance;
pub mod response_mapping;

pub use compose::{ComposeError, compose};
pub use endpoint::EndpointMoved;
pub use failure::{Candidate, Exchange, FailureContext, Generator, ResponseSeen};
pub use fingerprint::{error_signature, fingerprint};
pub use media_type::MediaType;
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
