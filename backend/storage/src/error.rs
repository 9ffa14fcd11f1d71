//! The storage error type and the mapping of constraint violations to it at the call site, so
//! callers can answer 404/409 without parsing driver messages (realworld's `on_constraint`).

use sea_orm::{DbErr, SqlErr};

/// Names of the unique constraints a `StorageError::Conflict` can carry.
pub mod constraints {
    pub const TENANT_NAME: &str = "uq_tenants_name";
    pub const USER_EMAIL: &str = "uq_users_email";
    pub const MEMBERSHIP: &str = "pk_memberships";
    pub const TOKEN_HASH: &str = "uq_api_tokens_token_hash";
    pub const SESSION_TOKEN_HASH: &str = "uq_sessions_token_hash";
    /// Enforced by the repository (among non-deleted workflows), not by an index.
    pub const WORKFLOW_NAME: &str = "workflows_tenant_name";
    pub const WORKFLOW_HOOK_ID: &str = "uq_workflows_hook_id";
    pub const WORKFLOW_VERSION: &str = "uq_workflow_versions_workflow_version";
    pub const STEP_POSITION: &str = "uq_steps_run_position";
    pub const DELIVERY_ID: &str = "uq_webhook_deliveries_workflow_delivery";
    /// A primary-key collision on an insert whose id the caller chose.
    pub const PRIMARY_KEY: &str = "primary_key";
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    #[error("unique constraint `{constraint}` violated")]
    Conflict { constraint: String },
    #[error("stored value is invalid: {0}")]
    Invalid(String),
    #[error("database error")]
    Db(#[from] DbErr),
}

impl StorageError {
    pub fn conflict(constraint: &str) -> Self {
        StorageError::Conflict {
            constraint: constraint.to_owned(),
        }
    }

    pub fn is_conflict(&self, constraint: &str) -> bool {
        matches!(self, StorageError::Conflict { constraint: c } if c == constraint)
    }
}

/// Turns driver errors into `StorageError`s, naming the constraint the call site knows it risks.
pub(crate) trait DbResultExt<T> {
    /// A unique violation becomes `Conflict { constraint }`.
    fn on_unique(self, constraint: &str) -> Result<T, StorageError>;
    /// A unique violation becomes `Conflict`, a foreign-key violation `NotFound` (the parent row
    /// the caller referred to does not exist).
    fn on_unique_or_missing_parent(self, constraint: &str) -> Result<T, StorageError>;
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn on_unique(self, constraint: &str) -> Result<T, StorageError> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StorageError::conflict(constraint),
            _ => StorageError::Db(err),
        })
    }

    fn on_unique_or_missing_parent(self, constraint: &str) -> Result<T, StorageError> {
        self.map_err(|err| match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StorageError::conflict(constraint),
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => StorageError::NotFound,
            _ => StorageError::Db(err),
        })
    }
}
