//! The one outbound HTTP client of Suture: every workflow step, probe and sandbox `fetch` goes
//! through [`EgressClient`], which applies the address policy (SPEC §7) to every resolved address
//! and every redirect hop, caps response bodies and turns failures into [`EgressError`].

mod client;
mod error;
mod policy;

pub use client::{EgressClient, OutboundRequest, OutboundResponse};
pub use error::EgressError;
pub use policy::EgressPolicy;
