//! Typed identifiers: one newtype per entity over a UUIDv7, so that a function taking a
//! `TenantId` and a `WorkflowId` cannot be called with them swapped, and ids sort by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! define_id {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        // A `Default` that mints a fresh random id would make `#[derive(Default)]` on
        // containing structs silently invent identities, so only `new()` exists.
        #[allow(clippy::new_without_default)]
        impl $name {
            /// A fresh, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    )+};
}

define_id!(
    /// An organisation; every tenant-owned row carries one.
    TenantId,
    /// A person with a password login.
    UserId,
    /// A workflow (all of its versions share this id).
    WorkflowId,
    /// One execution of a workflow version.
    RunId,
    /// One task execution inside a run.
    StepId,
    /// One healing attempt recorded in the repair audit log.
    RepairId,
    /// A validated repair script keyed by failure fingerprint.
    AntibodyId,
    /// An API token.
    TokenId,
    /// A dashboard login session.
    SessionId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let id = RunId::new();
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.matches('-').count(), 4);
        let back: RunId = text.parse().unwrap();
        assert_eq!(back, id);
        assert_eq!(id.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn serde_is_transparent() {
        let uuid = Uuid::parse_str("0190b6a0-5d2e-7c3a-9f00-000000000001").unwrap();
        let id = TenantId::from_uuid(uuid);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0190b6a0-5d2e-7c3a-9f00-000000000001\"");
        let back: TenantId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn ids_are_time_ordered_and_garbage_is_rejected() {
        let a = WorkflowId::new();
        let b = WorkflowId::new();
        assert!(a < b);
        assert!("not-a-uuid".parse::<WorkflowId>().is_err());
    }
}
