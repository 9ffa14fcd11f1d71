//! Workflows, their immutable versions, and webhook delivery de-duplication.

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
                    .table("workflows")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(text("name"))
                    .col(integer("current_version"))
                    .col(text("hook_id"))
                    .col(text_null("webhook_secret"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflows_tenant")
                            .from("workflows", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Names are unique only among non-deleted workflows; partial unique indexes differ
        // between the backends, so the repository enforces it and this index keeps it cheap.
        manager
            .create_index(index(
                "idx_workflows_tenant_name",
                "workflows",
                &["tenant_id", "name"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "uq_workflows_hook_id",
                "workflows",
                &["hook_id"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("workflow_versions")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("workflow_id"))
                    .col(integer("version"))
                    .col(json_binary("definition"))
                    .col(text("source"))
                    .col(text("source_format"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflow_versions_workflow")
                            .from("workflow_versions", "workflow_id")
                            .to("workflows", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_workflow_versions_workflow_version",
                "workflow_versions",
                &["workflow_id", "version"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("tenant_id"))
                    .col(uuid("workflow_id"))
                    .col(text("delivery_id"))
                    .col(uuid("run_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "uq_webhook_deliveries_workflow_delivery",
                "webhook_deliveries",
                &["workflow_id", "delivery_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_webhook_deliveries_created",
                "webhook_deliveries",
                &["created_at"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_deliveries", "workflow_versions", "workflows"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
