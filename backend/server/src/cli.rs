//! The `suture` command line: `serve` (default), `worker`, `migrate`, `tenant create`,
//! `token create`, `user create`, `validate FILE`, `run FILE --input JSON`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::admin;
use crate::app::{Application, Role};
use crate::config::{Config, LogFormat, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "suture",
    version,
    about = "Self-hosted workflow automation that heals its own workflows"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// TOML configuration file (also SUTURE_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and other files (also SUTURE_DATA_DIR; default ./data).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// HTTP server with in-process workers (the default).
    Serve {
        /// Address to listen on (also SUTURE_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Workers only, for scale-out on a shared PostgreSQL database.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Tenant administration.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// API token administration.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// User administration.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Check a workflow definition offline.
    Validate { file: PathBuf },
    /// Run a definition once, locally, and print the run as JSON.
    Run {
        file: PathBuf,
        /// The run input as JSON.
        #[arg(long, default_value = "{}")]
        input: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints {"tenant_id", "token"} as one JSON line.
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a tenant; prints it once.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (or add an existing one) as a member of a tenant; prints a one-time password.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "editor")]
        role: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let listen = match &cli.command {
        Some(Command::Serve { listen }) => listen.clone(),
        _ => None,
    };
    let overrides = Overrides {
        config_file: cli.global.config.clone(),
        listen,
        data_dir: cli.global.data_dir.clone(),
    };
    let config = match Config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(
        config.log_format,
        matches!(
            cli.command,
            None | Some(Command::Serve { .. }) | Some(Command::Worker)
        ),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Option<Command>, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        None | Some(Command::Serve { .. }) => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
            let app = Application::build(config, listener, Role::ServerAndWorkers).await?;
            app.print_bootstrap();
            tracing::info!(listen = %app.local_addr(), "suture is serving");
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Worker) => {
            let app = Application::build_workers_only(config).await?;
            tracing::info!("suture worker started");
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Migrate) => {
            admin::migrate(&config).await?;
            println!("{}", json!({"migrated": true}));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Tenant {
            command: TenantCommand::Create { name },
        }) => {
            let out = admin::create_tenant(&config, &name).await?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Token {
            command: TokenCommand::Create { tenant, name },
        }) => {
            let out = admin::create_token(&config, &tenant, &name).await?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::User {
            command:
                UserCommand::Create {
                    tenant,
                    email,
                    role,
                },
        }) => {
            let out = admin::create_user(&config, &tenant, &email, &role).await?;
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Validate { file }) => Ok(admin::validate_file(&file)),
        Some(Command::Run { file, input }) => admin::run_file(&config, &file, &input).await,
    }
}

fn init_tracing(format: LogFormat, verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose {
        "info,sqlx=warn,sea_orm=warn,apalis=warn"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_env("SUTURE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
