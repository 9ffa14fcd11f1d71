//! Repositories: all behaviour over the entities. Each repo borrows any sea-orm connection, so
//! the same calls run on the pool (`db.runs()`) or inside a caller's transaction
//! (`RunRepo::new(&txn)`), e.g. to record a webhook delivery and create its run atomically.

pub mod antibodies;
pub mod deliveries;
pub mod repairs;
pub mod runs;
pub mod sessions;
pub mod steps;
pub mod tenants;
pub mod tokens;
pub mod users;
pub mod workflows;

macro_rules! repo {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name<'c, C> {
            conn: &'c C,
        }

        impl<'c, C: sea_orm::ConnectionTrait> $name<'c, C> {
            pub fn new(conn: &'c C) -> Self {
                Self { conn }
            }
        }
    };
}
pub(crate) use repo;
