//! Configuration: compiled defaults, then an optional TOML file, then `SUTURE_*` environment
//! variables, then command-line flags. Validated once at start-up; secrets never print.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A value that must never reach a log or an error message.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None` = the embedded SQLite file `<data_dir>/suture.db`.
    pub database_url: Option<Secret>,
    pub egress_allow_private: bool,
    /// Run executions at a time per process.
    pub worker_concurrency: usize,
    /// Bodies larger than this get 413.
    pub max_body_bytes: usize,
    /// Public base URL used in `webhook_url`; defaults to `http://<listen>`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// Set the `Secure` flag on session cookies (on behind HTTPS).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    egress_allow_private: Option<bool>,
    worker_concurrency: Option<usize>,
    max_body_bytes: Option<usize>,
    public_url: Option<String>,
    log_format: Option<String>,
    secure_cookies: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// What the command line says; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(overrides, |k| std::env::var(k).ok())
    }

    pub fn load_from(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file_path = overrides
            .config_file
            .clone()
            .or_else(|| env("SUTURE_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let listen_text = overrides
            .listen
            .clone()
            .or_else(|| env("SUTURE_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = listen_text.parse().map_err(|_| ConfigError::Invalid {
            name: "listen (SUTURE_LISTEN / --listen)",
            message: format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
        })?;
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("SUTURE_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = env("SUTURE_DATABASE_URL")
            .map(Secret::new)
            .or(file.database_url);
        if let Some(url) = &database_url {
            let u = url.expose();
            if !(u.starts_with("sqlite:")
                || u.starts_with("postgres://")
                || u.starts_with("postgresql://"))
            {
                return Err(ConfigError::Invalid {
                    name: "database_url (SUTURE_DATABASE_URL)",
                    message: "must start with sqlite:, postgres:// or postgresql://".into(),
                });
            }
        }
        let egress_allow_private = match env("SUTURE_EGRESS_ALLOW_PRIVATE") {
            Some(v) => parse_bool("SUTURE_EGRESS_ALLOW_PRIVATE", &v)?,
            None => file.egress_allow_private.unwrap_or(true),
        };
        let worker_concurrency = match env("SUTURE_WORKER_CONCURRENCY") {
            Some(v) => parse_num("SUTURE_WORKER_CONCURRENCY", &v)?,
            None => file.worker_concurrency.unwrap_or(32),
        };
        if worker_concurrency == 0 {
            return Err(ConfigError::Invalid {
                name: "worker_concurrency",
                message: "must be at least 1".into(),
            });
        }
        let max_body_bytes = match env("SUTURE_MAX_BODY_BYTES") {
            Some(v) => parse_num("SUTURE_MAX_BODY_BYTES", &v)?,
            None => file.max_body_bytes.unwrap_or(1024 * 1024),
        };
        let public_url = env("SUTURE_PUBLIC_URL")
            .or(file.public_url)
            .map(|u| u.trim_end_matches('/').to_string());
        let log_format = match env("SUTURE_LOG_FORMAT").or(file.log_format).as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "log_format",
                    message: format!("`{other}` is not pretty or json"),
                });
            }
        };
        let secure_cookies = match env("SUTURE_SECURE_COOKIES") {
            Some(v) => parse_bool("SUTURE_SECURE_COOKIES", &v)?,
            None => file.secure_cookies.unwrap_or(false),
        };
        Ok(Config {
            listen,
            data_dir,
            database_url,
            egress_allow_private,
            worker_concurrency,
            max_body_bytes,
            public_url,
            log_format,
            secure_cookies,
        })
    }

    /// The database URL actually used: the configured one, or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.expose().to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("suture.db").display()
            ),
        }
    }

    pub fn uses_embedded_sqlite(&self) -> bool {
        self.database_url.is_none()
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })
}

fn parse_bool(name: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            message: format!("`{v}` is not true or false"),
        }),
    }
}

fn parse_num(name: &'static str, v: &str) -> Result<usize, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::Invalid {
        name,
        message: format!("`{v}` is not a whole number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let c = Config::load_from(&Overrides::default(), env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(c.uses_embedded_sqlite());
        assert!(
            c.effective_database_url()
                .ends_with("data/suture.db?mode=rwc")
        );
        assert!(c.egress_allow_private);
    }

    #[test]
    fn flags_beat_env_and_env_beats_defaults() {
        let o = Overrides {
            listen: Some("127.0.0.1:9999".into()),
            ..Default::default()
        };
        let c = Config::load_from(
            &o,
            env(&[
                ("SUTURE_LISTEN", "127.0.0.1:7777"),
                ("SUTURE_DATA_DIR", "/tmp/x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::load_from(&Overrides::default(), env(&[("SUTURE_LISTEN", "nope")]))
            .unwrap_err();
        assert!(e.to_string().contains("SUTURE_LISTEN"), "{e}");
        let e = Config::load_from(
            &Overrides::default(),
            env(&[("SUTURE_DATABASE_URL", "mysql://x")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("SUTURE_DATABASE_URL"));
        assert!(
            !e.to_string().contains("mysql://x"),
            "the URL may hold a password"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("postgres://u:hunter2@h/db");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
