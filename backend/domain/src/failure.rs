//! Failure vocabulary: Suture's classes (which decide retry, substitution, healing or failure)
//! and the DSL's standard error types, reported as RFC 7807 problem details.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::status::UnknownName;

/// What kind of failure a step hit; decides what happens next (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Connection reset/refused, 429, 502/503/504: retry with backoff.
    Transient,
    /// The tool is down (circuit open, outage): substitute or park.
    Unavailable,
    /// The vendor's contract changed (field renamed, endpoint moved…): heal.
    Contract,
    /// Credentials revoked or refused: fail and notify, never heal around it.
    Auth,
    /// The data no longer exists upstream.
    NotFound,
    /// Input or output does not satisfy a declared schema.
    Validation,
    /// A runtime expression failed.
    Expression,
    /// A script or internal step failed.
    Runtime,
    /// The step or run exceeded its time budget.
    Timeout,
    /// The definition or its environment (credentials, tools) is misconfigured.
    Configuration,
}

impl FailureClass {
    pub const ALL: &'static [FailureClass] = &[
        FailureClass::Transient,
        FailureClass::Unavailable,
        FailureClass::Contract,
        FailureClass::Auth,
        FailureClass::NotFound,
        FailureClass::Validation,
        FailureClass::Expression,
        FailureClass::Runtime,
        FailureClass::Timeout,
        FailureClass::Configuration,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            FailureClass::Transient => "transient",
            FailureClass::Unavailable => "unavailable",
            FailureClass::Contract => "contract",
            FailureClass::Auth => "auth",
            FailureClass::NotFound => "not_found",
            FailureClass::Validation => "validation",
            FailureClass::Expression => "expression",
            FailureClass::Runtime => "runtime",
            FailureClass::Timeout => "timeout",
            FailureClass::Configuration => "configuration",
        }
    }

    /// The RFC 7807 `type` URI of the DSL error type this class is reported as.
    pub const fn dsl_type_uri(self) -> &'static str {
        self.error_kind().dsl_type_uri()
    }

    /// The DSL error type a failure of this class is reported as.
    pub const fn error_kind(self) -> ErrorKind {
        match self {
            FailureClass::Transient | FailureClass::Unavailable | FailureClass::NotFound => {
                ErrorKind::Communication
            }
            FailureClass::Contract | FailureClass::Validation => ErrorKind::Validation,
            FailureClass::Auth => ErrorKind::Authentication,
            FailureClass::Expression => ErrorKind::Expression,
            FailureClass::Runtime => ErrorKind::Runtime,
            FailureClass::Timeout => ErrorKind::Timeout,
            FailureClass::Configuration => ErrorKind::Configuration,
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailureClass {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FailureClass::ALL
            .iter()
            .copied()
            .find(|class| class.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "failure class",
                value: s.to_owned(),
            })
    }
}

/// The Serverless Workflow DSL 1.0 standard error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Configuration,
    Validation,
    Expression,
    Authentication,
    Authorization,
    Timeout,
    Communication,
    Runtime,
}

impl ErrorKind {
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Configuration,
        ErrorKind::Validation,
        ErrorKind::Expression,
        ErrorKind::Authentication,
        ErrorKind::Authorization,
        ErrorKind::Timeout,
        ErrorKind::Communication,
        ErrorKind::Runtime,
    ];

    pub const fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Configuration => "configuration",
            ErrorKind::Validation => "validation",
            ErrorKind::Expression => "expression",
            ErrorKind::Authentication => "authentication",
            ErrorKind::Authorization => "authorization",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Communication => "communication",
            ErrorKind::Runtime => "runtime",
        }
    }

    /// The RFC 7807 `type` URI the DSL assigns to this error type.
    pub const fn dsl_type_uri(&self) -> &'static str {
        match self {
            ErrorKind::Configuration => {
                "https://serverlessworkflow.io/spec/1.0.0/errors/configuration"
            }
            ErrorKind::Validation => "https://serverlessworkflow.io/spec/1.0.0/errors/validation",
            ErrorKind::Expression => "https://serverlessworkflow.io/spec/1.0.0/errors/expression",
            ErrorKind::Authentication => {
                "https://serverlessworkflow.io/spec/1.0.0/errors/authentication"
            }
            ErrorKind::Authorization => {
                "https://serverlessworkflow.io/spec/1.0.0/errors/authorization"
            }
            ErrorKind::Timeout => "https://serverlessworkflow.io/spec/1.0.0/errors/timeout",
            ErrorKind::Communication => {
                "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
            }
            ErrorKind::Runtime => "https://serverlessworkflow.io/spec/1.0.0/errors/runtime",
        }
    }

    /// The status the DSL suggests when nothing more specific (e.g. the vendor's) is known.
    pub const fn default_status(&self) -> u16 {
        match self {
            ErrorKind::Configuration | ErrorKind::Validation | ErrorKind::Expression => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Authorization => 403,
            ErrorKind::Timeout => 408,
            ErrorKind::Communication | ErrorKind::Runtime => 500,
        }
    }

    pub const fn title(&self) -> &'static str {
        match self {
            ErrorKind::Configuration => "Configuration error",
            ErrorKind::Validation => "Validation error",
            ErrorKind::Expression => "Expression error",
            ErrorKind::Authentication => "Authentication error",
            ErrorKind::Authorization => "Authorization error",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::Communication => "Communication error",
            ErrorKind::Runtime => "Runtime error",
        }
    }

    /// Inverse of [`ErrorKind::dsl_type_uri`].
    pub fn from_type_uri(uri: &str) -> Option<ErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.dsl_type_uri() == uri)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 7807 problem as the DSL defines workflow errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub r#type: String,
    pub status: u16,
    pub title: String,
    pub detail: String,
    /// JSON pointer of the task that failed, e.g. `/do/1/getContact`.
    pub instance: String,
}

impl Problem {
    /// A problem of a DSL error type with its default status and title.
    pub fn new(kind: ErrorKind, detail: impl Into<String>, instance: impl Into<String>) -> Self {
        Self {
            r#type: kind.dsl_type_uri().to_owned(),
            status: kind.default_status(),
            title: kind.title().to_owned(),
            detail: detail.into(),
            instance: instance.into(),
        }
    }

    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The DSL error type, when `type` is one of the standard URIs.
    pub fn kind(&self) -> Option<ErrorKind> {
        ErrorKind::from_type_uri(&self.r#type)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.title, self.instance, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_round_trip() {
        for class in FailureClass::ALL {
            assert_eq!(class.as_str().parse::<FailureClass>().unwrap(), *class);
            assert_eq!(
                serde_json::to_value(class).unwrap(),
                serde_json::Value::from(class.as_str())
            );
        }
    }

    #[test]
    fn dsl_uris() {
        assert_eq!(
            ErrorKind::Communication.dsl_type_uri(),
            "https://serverlessworkflow.io/spec/1.0.0/errors/communication"
        );
        for kind in ErrorKind::ALL {
            assert!(kind.dsl_type_uri().ends_with(kind.as_str()));
            assert_eq!(ErrorKind::from_type_uri(kind.dsl_type_uri()), Some(*kind));
        }
        assert_eq!(
            FailureClass::Transient.error_kind(),
            ErrorKind::Communication
        );
        assert_eq!(
            FailureClass::Auth.dsl_type_uri(),
            "https://serverlessworkflow.io/spec/1.0.0/errors/authentication"
        );
    }

    #[test]
    fn problem_serializes_with_type_field() {
        let problem = Problem::new(
            ErrorKind::Timeout,
            "took longer than 5s",
            "/do/0/getContact",
        );
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "https://serverlessworkflow.io/spec/1.0.0/errors/timeout",
                "status": 408,
                "title": "Timeout",
                "detail": "took longer than 5s",
                "instance": "/do/0/getContact"
            })
        );
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back.kind(), Some(ErrorKind::Timeout));
    }
}
