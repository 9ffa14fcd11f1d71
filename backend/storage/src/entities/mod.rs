//! sea-orm entities, one module per table, kept free of behaviour (loco's `_entities` split):
//! they mirror `suture-migrations` column for column.

pub mod antibodies;
pub mod api_tokens;
pub mod memberships;
pub mod repairs;
pub mod runs;
pub mod sessions;
pub mod steps;
pub mod tenants;
pub mod users;
pub mod webhook_deliveries;
pub mod workflow_versions;
pub mod workflows;
