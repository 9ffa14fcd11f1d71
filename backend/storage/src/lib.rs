//! Suture's persistence: the connection (`Db`), sea-orm entities and repositories.
//! Every tenant-owned query takes a `TenantId`; the few global lookups are those where a secret
//! (token hash, hook id, claimed run) fixes the tenant.

pub mod db;
pub mod entities;
pub mod error;
pub mod repos;

pub use db::{Backend, Db, connect, migrate, now, ping, sqlite_pool_size};
pub use error::{StorageError, constraints};
pub use repos::{
    antibodies::AntibodyRepo,
    deliveries::DeliveryRepo,
    repairs::{RepairFilter, RepairRepo},
    runs::{NewRun, RunCursor, RunFilter, RunRepo},
    sessions::SessionRepo,
    steps::StepRepo,
    tenants::TenantRepo,
    tokens::TokenRepo,
    users::UserRepo,
    workflows::{NewVersion, NewWorkflow, WorkflowRepo},
};
