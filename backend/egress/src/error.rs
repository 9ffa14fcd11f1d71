//! Failures of an outbound call, worded for the run log and classified for the retry logic
//! (`is_transient`).

/// Why an outbound call produced no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    /// The address policy (or the scheme / redirect rules) forbade the call; nothing was sent.
    #[error("refused to call {url}: {reason}")]
    Refused { url: String, reason: String },
    /// No connection could be made: refused, reset during the handshake, DNS failure.
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// The whole exchange (all redirect hops and the body) took longer than the request allowed.
    #[error("no complete response from {url} within {after_ms} ms")]
    Timeout { url: String, after_ms: u64 },
    /// The connection broke while the request or response was in flight.
    #[error("the connection to {url} failed mid-exchange: {message}")]
    Io { url: String, message: String },
    /// The response body exceeded the client's cap.
    #[error("the response from {url} is larger than the {limit}-byte limit")]
    TooLarge { url: String, limit: usize },
    /// The request itself is malformed (bad header, missing host, ...).
    #[error("invalid outbound request: {0}")]
    InvalidRequest(String),
}

impl EgressError {
    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EgressError::Connect { .. } | EgressError::Timeout { .. } | EgressError::Io { .. }
        )
    }
}
