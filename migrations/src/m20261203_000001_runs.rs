//! Runs (the unit a worker claims) and their finished steps (the durable record).

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
                    .table("runs")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("workflow_id"))
                    .col(integer("version"))
                    .col(text("status"))
                    .col(json_binary("input"))
                    .col(json_binary_null("output"))
                    .col(json_binary_null("error"))
                    .col(text("trigger"))
                    .col(json_binary_null("trigger_meta"))
                    .col(boolean("healed").default(false))
                    .col(integer("attempt_group").default(0))
                    .col(text_null("claimed_by"))
                    .col(timestamp_with_time_zone_null("heartbeat_at"))
                    .col(timestamp_with_time_zone_null("not_before"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_runs_tenant_created",
                "runs",
                &["tenant_id", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_runs_tenant_workflow_created",
                "runs",
                &["tenant_id", "workflow_id", "created_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_runs_status_not_before",
                "runs",
                &["status", "not_before"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("steps")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("run_id"))
                    .col(integer("position"))
                    .col(text("name"))
                    .col(text("status"))
                    .col(json_binary_null("input"))
                    .col(json_binary_null("output"))
                    .col(json_binary_null("error"))
                    .col(json_binary_null("context"))
                    .col(json_binary("attempts"))
                    .col(json_binary("repair_ids"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(big_integer("duration_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_steps_run")
                            .from("steps", "run_id")
                            .to("runs", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_steps_run_position",
                "steps",
                &["run_id", "position"],
                true,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["steps", "runs"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
