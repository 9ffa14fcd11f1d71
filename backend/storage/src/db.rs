//! Opening the database (pool sizes and SQLite pragmas for every pooled connection) and running
//! migrations. Also the one clock helper, so stored timestamps round-trip on both backends.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use suture_migrations::MigratorTrait;

use crate::error::StorageError;
use crate::repos::{
    antibodies::AntibodyRepo, deliveries::DeliveryRepo, repairs::RepairRepo, runs::RunRepo,
    sessions::SessionRepo, steps::StepRepo, tenants::TenantRepo, tokens::TokenRepo,
    users::UserRepo, workflows::WorkflowRepo,
};

/// SQLite has one writer at a time. Many pooled connections writing at once only queue up
/// behind the file lock (busy-waiting, unfairly, and timing out under load), so the pool is
/// small; `SUTURE_SQLITE_POOL` overrides it for experiments.
const SQLITE_POOL: u32 = 2;
const POSTGRES_POOL: u32 = 16;
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    pub backend: Backend,
}

/// Connections in a SQLite pool: `SUTURE_SQLITE_POOL`, else the default.
pub fn sqlite_pool_size() -> u32 {
    std::env::var("SUTURE_SQLITE_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(SQLITE_POOL)
}

/// Opens a pool on `sqlite://…` or `postgres://…`.
pub async fn connect(url: &str) -> Result<Db, StorageError> {
    let backend = if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Backend::Postgres
    } else {
        return Err(StorageError::Invalid(format!(
            "unsupported database url scheme in `{}`",
            url.split(':').next().unwrap_or_default()
        )));
    };
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false);
    match backend {
        Backend::Sqlite => {
            // Pragmas go on the connect options so every pooled connection gets them, not just
            // the first: foreign_keys and busy_timeout are per connection in SQLite.
            opts.max_connections(sqlite_pool_size())
                .min_connections(1)
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                });
        }
        Backend::Postgres => {
            opts.max_connections(POSTGRES_POOL);
        }
    }
    let conn = Database::connect(opts).await?;
    Ok(Db { conn, backend })
}

/// Answers when the database does (readiness).
pub async fn ping(db: &Db) -> Result<(), StorageError> {
    db.conn.ping().await?;
    Ok(())
}

/// Applies every pending migration; a no-op when the schema is current.
pub async fn migrate(db: &Db) -> Result<(), StorageError> {
    suture_migrations::Migrator::up(&db.conn, None).await?;
    Ok(())
}

/// The current time at the precision both backends store (microseconds), so a value written and
/// read back compares equal and keyset cursors built from returned rows stay exact.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

pub(crate) fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

impl Db {
    pub fn db_backend(&self) -> DbBackend {
        match self.backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }

    pub fn tenants(&self) -> TenantRepo<'_, DatabaseConnection> {
        TenantRepo::new(&self.conn)
    }
    pub fn users(&self) -> UserRepo<'_, DatabaseConnection> {
        UserRepo::new(&self.conn)
    }
    pub fn tokens(&self) -> TokenRepo<'_, DatabaseConnection> {
        TokenRepo::new(&self.conn)
    }
    pub fn sessions(&self) -> SessionRepo<'_, DatabaseConnection> {
        SessionRepo::new(&self.conn)
    }
    pub fn workflows(&self) -> WorkflowRepo<'_, DatabaseConnection> {
        WorkflowRepo::new(&self.conn)
    }
    pub fn runs(&self) -> RunRepo<'_, DatabaseConnection> {
        RunRepo::new(&self.conn)
    }
    pub fn steps(&self) -> StepRepo<'_, DatabaseConnection> {
        StepRepo::new(&self.conn)
    }
    pub fn repairs(&self) -> RepairRepo<'_, DatabaseConnection> {
        RepairRepo::new(&self.conn)
    }
    pub fn antibodies(&self) -> AntibodyRepo<'_, DatabaseConnection> {
        AntibodyRepo::new(&self.conn)
    }
    pub fn deliveries(&self) -> DeliveryRepo<'_, DatabaseConnection> {
        DeliveryRepo::new(&self.conn)
    }
}
