//! Repairs (one row per healing attempt) and antibodies (validated, reusable patches).

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("repairs")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("run_id"))
                    .col(uuid_null("step_id"))
                    .col(uuid("workflow_id"))
                    .col(text("task_name"))
                    .col(text("tool"))
                    .col(text("operation"))
                    .col(text("failure_class"))
                    .col(text("fingerprint"))
                    .col(json_binary("failure"))
                    .col(text("diagnosis"))
                    .col(text("generator"))
                    .col(text("patch_source"))
                    .col(json_binary("sandbox_log"))
                    .col(json_binary("verdict"))
                    .col(text("outcome"))
                    .col(uuid_null("antibody_id"))
                    .col(boolean("reused").default(false))
                    .col(big_integer("duration_ms"))
                    .col(uuid_null("approved_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_repairs_tenant_created",
                "repairs",
                &["tenant_id", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index("idx_repairs_run", "repairs", &["run_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("antibodies")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(text("fingerprint"))
                    .col(text("tool"))
                    .col(text("operation"))
                    .col(text("failure_class"))
                    .col(text("generator"))
                    .col(text("patch_source"))
                    .col(text("status"))
                    .col(integer("uses").default(0))
                    .col(uuid("source_repair_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("retired_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_antibodies_tenant_fingerprint_status",
                "antibodies",
                &["tenant_id", "fingerprint", "status"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["antibodies", "repairs"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
