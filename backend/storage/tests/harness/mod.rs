//! Test databases: a fresh SQLite file per test, and a fresh PostgreSQL database per test when
//! one is reachable (`SUTURE_TEST_PG_URL`), dropped afterwards even if the test panics.

use std::sync::OnceLock;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use suture_storage::{Db, connect, migrate};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The first failure to reach PostgreSQL, so later tests skip at once instead of each waiting
/// for the connect timeout.
static UNREACHABLE: OnceLock<String> = OnceLock::new();

async fn admin(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(1)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false);
    Database::connect(opts).await
}

pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgCleanup>,
}

struct PgCleanup {
    admin_url: String,
    name: String,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("suture.db").display()
    );
    let db = connect(&url).await.unwrap();
    migrate(&db).await.unwrap();
    TestDb {
        db,
        _dir: Some(dir),
        pg: None,
    }
}

/// `None` (after saying why) when PostgreSQL is unreachable, unless every backend is required.
pub async fn postgres() -> Option<TestDb> {
    let admin_url = std::env::var("SUTURE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let required = std::env::var("SUTURE_TEST_REQUIRE_ALL").as_deref() == Ok("1");
    let reached = match UNREACHABLE.get() {
        Some(reason) => Err(reason.clone()),
        None => admin(&admin_url).await.map_err(|err| {
            let reason = err.to_string();
            let _ = UNREACHABLE.set(reason.clone());
            reason
        }),
    };
    let admin = match reached {
        Ok(admin) => admin,
        Err(reason) if required => panic!("PostgreSQL required but unreachable: {reason}"),
        Err(reason) => {
            println!("skipping PostgreSQL: {reason}");
            return None;
        }
    };
    let name = format!("suture_t_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let cleanup = PgCleanup {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let db = connect(&with_database(&admin_url, &name)).await.unwrap();
    migrate(&db).await.unwrap();
    Some(TestDb {
        db,
        _dir: None,
        pg: Some(cleanup),
    })
}

fn with_database(url: &str, name: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(pg) = self.pg.take() else { return };
        let conn = self.db.conn.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a helper thread with
        // its own runtime closes the pool and drops the database.
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let _ = conn.close().await;
                if let Ok(admin) = admin(&pg.admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                            pg.name
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

#[test]
fn database_name_replaces_the_path_and_keeps_the_query() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
        "postgres://u@h:5432/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
