//! First start: an empty database gets tenant `default`, user `admin` (owner) with a one-time
//! password, and an API token — printed once by `suture serve`.

use serde_json::json;
use suture_domain::status::Role;
use suture_storage::Db;

use crate::auth::secrets::{hash_password, new_api_token, random_string, sha256_hex, token_prefix};

#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub admin_password: String,
    pub api_token: String,
}

pub const DEFAULT_TENANT: &str = "default";
pub const ADMIN_EMAIL: &str = "admin";

pub async fn first_start(db: &Db) -> anyhow::Result<Option<Bootstrap>> {
    if db.tenants().count().await? > 0 {
        return Ok(None);
    }
    let tenant = match db.tenants().create(DEFAULT_TENANT).await {
        Ok(t) => t,
        // Another process bootstrapped at the same moment (scale-out start-up).
        Err(e) if e.is_conflict(suture_storage::constraints::TENANT_NAME) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let password = random_string(20);
    let hash =
        hash_password(&password).map_err(|e| anyhow::anyhow!("hashing the admin password: {e}"))?;
    let user = db.users().create(ADMIN_EMAIL, &hash).await?;
    db.users()
        .add_membership(
            suture_domain::ids::TenantId::from_uuid(tenant.id),
            suture_domain::ids::UserId::from_uuid(user.id),
            Role::Owner,
        )
        .await?;
    let token = new_api_token();
    db.tokens()
        .create(
            suture_domain::ids::TenantId::from_uuid(tenant.id),
            "bootstrap",
            &token_prefix(&token),
            &sha256_hex(&token),
            json!(["*"]),
            Some(suture_domain::ids::UserId::from_uuid(user.id)),
        )
        .await?;
    Ok(Some(Bootstrap {
        admin_password: password,
        api_token: token,
    }))
}
