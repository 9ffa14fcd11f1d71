//! Generated-style entity for the `repairs` table; behaviour lives in `crate::repos`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "repairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub run_id: Uuid,
    pub step_id: Option<Uuid>,
    pub workflow_id: Uuid,
    pub task_name: String,
    pub tool: String,
    pub operation: String,
    pub failure_class: String,
    pub fingerprint: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub failure: Json,
    pub diagnosis: String,
    pub generator: String,
    pub patch_source: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub sandbox_log: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub verdict: Json,
    pub outcome: String,
    pub antibody_id: Option<Uuid>,
    pub reused: bool,
    pub duration_ms: i64,
    pub approved_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
