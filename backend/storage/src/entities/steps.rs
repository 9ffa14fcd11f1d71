//! Generated-style entity for the `steps` table; behaviour lives in `crate::repos`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub run_id: Uuid,
    pub position: i32,
    pub name: String,
    pub status: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub input: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub output: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub error: Option<Json>,
    /// The workflow's `$context` after this step, so a resumed run continues from it.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub context: Option<Json>,
    #[sea_orm(column_type = "JsonBinary")]
    pub attempts: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub repair_ids: Json,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub duration_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
