//! Lifecycle states of runs and steps, and member roles, with the stable lower_snake names the
//! API, the database and the dashboard share (SPEC §1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that names no known state or role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

macro_rules! named_enum {
    ($what:literal, $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { what: $what, value: s.to_owned() }),
                }
            }
        }
    };
}

/// State of a run (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    /// Succeeded with at least one repair or substitution.
    Healed,
    Failed,
    Cancelled,
    WaitingApproval,
}

named_enum!("run status", RunStatus {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Healed => "healed",
    Failed => "failed",
    Cancelled => "cancelled",
    WaitingApproval => "waiting_approval",
});

impl RunStatus {
    /// A terminal run never changes state again (a resume creates new work from `failed` only
    /// through an explicit transition the engine owns).
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Healed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// Finished successfully, with or without healing.
    pub const fn is_success(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Healed)
    }
}

/// State of one step (task execution) inside a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Running,
    Succeeded,
    Healed,
    Failed,
    Skipped,
}

named_enum!("step status", StepStatus {
    Running => "running",
    Succeeded => "succeeded",
    Healed => "healed",
    Failed => "failed",
    Skipped => "skipped",
});

impl StepStatus {
    /// Finished steps are never executed twice on resume (SPEC §1).
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            StepStatus::Succeeded | StepStatus::Healed | StepStatus::Skipped
        )
    }
}

/// A member's role in a tenant; each role includes the rights of the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Viewer,
}

named_enum!("role", Role {
    Owner => "owner",
    Admin => "admin",
    Editor => "editor",
    Viewer => "viewer",
});

impl Role {
    const fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Editor => 1,
            Role::Viewer => 0,
        }
    }

    /// Whether a member with this role may do something that needs `needed`.
    pub const fn allows(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_status_names_round_trip_and_match_serde() {
        for status in RunStatus::ALL {
            let parsed: RunStatus = status.as_str().parse().unwrap();
            assert_eq!(parsed, *status);
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, serde_json::Value::from(status.as_str()));
        }
        assert_eq!(RunStatus::WaitingApproval.as_str(), "waiting_approval");
        assert!("WaitingApproval".parse::<RunStatus>().is_err());
    }

    #[test]
    fn terminal_states() {
        let terminal: Vec<_> = RunStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(terminal, ["succeeded", "healed", "failed", "cancelled"]);
    }

    #[test]
    fn step_status_round_trip() {
        for status in StepStatus::ALL {
            assert_eq!(status.as_str().parse::<StepStatus>().unwrap(), *status);
        }
        assert!(StepStatus::Skipped.is_finished());
        assert!(!StepStatus::Failed.is_finished());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Owner.allows(Role::Admin));
        assert!(Role::Admin.allows(Role::Admin));
        assert!(Role::Editor.allows(Role::Viewer));
        assert!(!Role::Editor.allows(Role::Admin));
        assert!(!Role::Viewer.allows(Role::Editor));
        assert_eq!("owner".parse::<Role>().unwrap(), Role::Owner);
        let err = "root".parse::<Role>().unwrap_err();
        assert_eq!(err.to_string(), "unknown role `root`");
    }
}
