//! A fresh PostgreSQL database per test, dropped afterwards.

use std::time::Duration;

pub fn admin_url() -> String {
    std::env::var("SUTURE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct PgDatabase {
    pub url: String,
    name: String,
    admin: String,
}

/// Creates `suture_t_<uuid>`; `Err` carries the reason PostgreSQL is unusable.
pub async fn fresh_database() -> Result<PgDatabase, String> {
    use sqlx::Connection;
    let admin = admin_url();
    let mut conn =
        tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin))
            .await
            .map_err(|_| format!("timed out connecting to {admin}"))?
            .map_err(|e| format!("cannot connect to {admin}: {e}"))?;
    let name = format!("suture_t_{}", uuid::Uuid::new_v4().simple());
    // The name is generated here from a UUID: no outside input reaches the statement.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create a database: {e}"))?;
    conn.close().await.ok();
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin.clone());
    Ok(PgDatabase {
        url: format!("{base}/{name}"),
        name,
        admin,
    })
}

impl PgDatabase {
    pub async fn drop_now(&self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut conn)
            .await;
            conn.close().await.ok();
        }
    }
}
