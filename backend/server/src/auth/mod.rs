//! Who is calling: bearer tokens for the API (the token fixes the tenant), sessions with CSRF
//! tokens for the dashboard, and the generation/hashing of every secret.

pub mod api_token;
pub mod secrets;
pub mod session;

pub use api_token::ApiAuth;
pub use session::SessionAuth;
