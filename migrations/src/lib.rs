//! Schema migrations for Suture (sea-orm-migration), one file per table group.
//! The same migrations run on SQLite and PostgreSQL; `Migrator::up` is idempotent.

pub use sea_orm_migration::prelude::*;

mod m20261201_000001_accounts;
mod m20261202_000001_workflows;
mod m20261203_000001_runs;
mod m20261204_000001_healing;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261201_000001_accounts::Migration),
            Box::new(m20261202_000001_workflows::Migration),
            Box::new(m20261203_000001_runs::Migration),
            Box::new(m20261204_000001_healing::Migration),
        ]
    }
}

/// Creates a (possibly unique) index whose name callers can rely on: storage maps unique
/// violations to these names, so they are part of the contract.
pub(crate) fn index(name: &str, table: &str, cols: &[&str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table.to_owned()).if_not_exists();
    for col in cols {
        idx.col((*col).to_owned());
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}
