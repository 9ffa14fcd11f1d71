//! Administrative commands behind the CLI (`migrate`, `tenant create`, `token create`,
//! `user create`, `validate`, `run`), as functions tests can call in-process.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};
use suture_domain::status::Role;
use suture_domain::workflow::{DefinitionError, SourceFormat, parse_definition};
use suture_storage::Db;

use crate::auth::secrets::{hash_password, new_api_token, random_string, sha256_hex, token_prefix};
use crate::config::Config;

async fn open(config: &Config) -> anyhow::Result<Db> {
    if config.uses_embedded_sqlite() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    let db = suture_storage::connect(&config.effective_database_url())
        .await
        .context("connecting to the database")?;
    suture_storage::migrate(&db)
        .await
        .context("migrating the database")?;
    Ok(db)
}

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    open(config).await.map(|_| ())
}

pub async fn create_tenant(config: &Config, name: &str) -> anyhow::Result<Value> {
    let db = open(config).await?;
    create_tenant_in(&db, name).await
}

/// Creates the tenant and a first API token; `{"tenant_id", "token"}`.
pub async fn create_tenant_in(db: &Db, name: &str) -> anyhow::Result<Value> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        anyhow::bail!("a tenant name needs 1 to 100 characters");
    }
    let tenant = match db.tenants().create(name).await {
        Ok(t) => t,
        Err(e) if e.is_conflict(suture_storage::constraints::TENANT_NAME) => {
            anyhow::bail!("a tenant named `{name}` already exists")
        }
        Err(e) => return Err(e.into()),
    };
    let token = new_api_token();
    db.tokens()
        .create(
            suture_domain::ids::TenantId::from_uuid(tenant.id),
            "initial",
            &token_prefix(&token),
            &sha256_hex(&token),
            json!(["*"]),
            None,
        )
        .await?;
    Ok(json!({ "tenant_id": tenant.id.to_string(), "token": token }))
}

pub async fn create_token(config: &Config, tenant: &str, label: &str) -> anyhow::Result<Value> {
    let db = open(config).await?;
    let t = db
        .tenants()
        .find_by_name(tenant)
        .await?
        .with_context(|| format!("no tenant named `{tenant}`"))?;
    let token = new_api_token();
    let row = db
        .tokens()
        .create(
            suture_domain::ids::TenantId::from_uuid(t.id),
            label,
            &token_prefix(&token),
            &sha256_hex(&token),
            json!(["*"]),
            None,
        )
        .await?;
    Ok(json!({ "tenant_id": t.id.to_string(), "token_id": row.id.to_string(), "token": token }))
}

pub async fn create_user(
    config: &Config,
    tenant: &str,
    email: &str,
    role: &str,
) -> anyhow::Result<Value> {
    let db = open(config).await?;
    let role: Role = role
        .parse()
        .map_err(|_| anyhow::anyhow!("role must be owner, admin, editor or viewer"))?;
    let t = db
        .tenants()
        .find_by_name(tenant)
        .await?
        .with_context(|| format!("no tenant named `{tenant}`"))?;
    let email = email.trim().to_ascii_lowercase();
    if email.is_empty() || email.len() > 254 {
        anyhow::bail!("an email needs 1 to 254 characters");
    }
    let (user, password) = match db.users().find_by_email(&email).await? {
        Some(u) => (u, None),
        None => {
            let password = random_string(20);
            let hash = hash_password(&password)
                .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
            (db.users().create(&email, &hash).await?, Some(password))
        }
    };
    db.users()
        .add_membership(
            suture_domain::ids::TenantId::from_uuid(t.id),
            suture_domain::ids::UserId::from_uuid(user.id),
            role,
        )
        .await?;
    Ok(
        json!({ "user_id": user.id.to_string(), "tenant_id": t.id.to_string(), "role": role.as_str(), "password": password }),
    )
}

/// `suture validate FILE`: 0 when valid, 1 with each problem on stderr otherwise.
pub fn validate_file(path: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let format = if path.extension().is_some_and(|e| e == "json") {
        SourceFormat::Json
    } else {
        SourceFormat::Yaml
    };
    match parse_definition(&text, format) {
        Ok(def) => {
            println!(
                "{}: valid ({} task{}, workflow `{}` v{})",
                path.display(),
                def.tasks.len(),
                if def.tasks.len() == 1 { "" } else { "s" },
                def.document.name,
                def.document.version
            );
            ExitCode::SUCCESS
        }
        Err(DefinitionError::Syntax {
            message,
            line,
            column,
        }) => {
            eprintln!(
                "{}:{}:{}: syntax error: {message}",
                path.display(),
                line.unwrap_or(0),
                column.unwrap_or(0)
            );
            ExitCode::FAILURE
        }
        Err(DefinitionError::Invalid { problems }) => {
            for p in &problems {
                eprintln!("{}: {}: {}", path.display(), p.path, p.message);
            }
            eprintln!(
                "{} problem{}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
    }
}

/// `suture run FILE --input JSON`: executes the definition once against a throw-away SQLite
/// database in a temporary directory and prints the finished run.
pub async fn run_file(config: &Config, path: &Path, input: &str) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let input: Value = serde_json::from_str(input).context("--input must be JSON")?;
    let dir = std::env::temp_dir().join(format!("suture-run-{}", uuid::Uuid::now_v7().simple()));
    let mut local = config.clone();
    local.database_url = None;
    local.data_dir = dir.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = crate::app::Application::build(local, listener, crate::app::Role::ServerOnly).await?;
    let state = app.state();
    let tenant = state
        .db
        .tenants()
        .find_by_name(crate::bootstrap::DEFAULT_TENANT)
        .await?
        .context("default tenant")?;
    let format = if path.extension().is_some_and(|e| e == "json") {
        SourceFormat::Json
    } else {
        SourceFormat::Yaml
    };
    let def = match parse_definition(&text, format) {
        Ok(d) => d,
        Err(e) => {
            drop(app);
            let _ = std::fs::remove_dir_all(&dir);
            anyhow::bail!("the definition is not valid: {e:?}");
        }
    };
    let (wf, version) = state
        .db
        .workflows()
        .create(
            suture_domain::ids::TenantId::from_uuid(tenant.id),
            suture_storage::NewWorkflow {
                name: &def.document.name,
                definition: def.normalized.clone(),
                source: &text,
                source_format: crate::api::format_name(format),
                hook_id: &crate::auth::secrets::new_hook_id(),
                webhook_secret: None,
            },
        )
        .await?;
    let (run_id, _) = state
        .executor
        .start_and_execute(suture_engine::runs::StartRun {
            tenant: suture_domain::ids::TenantId::from_uuid(tenant.id),
            workflow: suture_domain::ids::WorkflowId::from_uuid(wf.id),
            version: version.version,
            input,
            trigger: "manual",
            trigger_meta: None,
        })
        .await?;
    let run = crate::views_json::run_json(
        &state,
        suture_domain::ids::TenantId::from_uuid(tenant.id),
        run_id,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    println!("{}", serde_json::to_string_pretty(&run)?);
    let ok = matches!(run["status"].as_str(), Some("succeeded") | Some("healed"));
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
