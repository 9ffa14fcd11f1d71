//! Parsed workflow versions, cached: versions are immutable, so a parsed definition (with its
//! compiled jq filters and schemas) is reused by every run of that version.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use suture_domain::ids::{TenantId, WorkflowId};
use suture_domain::workflow::{Definition, SourceFormat, parse_definition};

use crate::EngineError;
use crate::store::Store;

/// Bounded so a tenant creating thousands of versions cannot grow memory without end.
const MAX_CACHED: usize = 1024;

type Cache = HashMap<(WorkflowId, i32), Arc<Definition>>;

#[derive(Clone)]
pub struct DefinitionCache {
    store: Store,
    cache: Arc<RwLock<Cache>>,
}

impl DefinitionCache {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Arc::default(),
        }
    }

    pub async fn get(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
        version: i32,
    ) -> Result<Arc<Definition>, EngineError> {
        if let Some(def) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(workflow, version))
        {
            return Ok(def.clone());
        }
        let source = self.store.version_source(tenant, workflow, version).await?;
        let def = parse_definition(&source.source, source.format).map_err(|e| {
            EngineError::Internal(format!(
                "stored workflow {workflow} v{version} no longer parses: {e:?}"
            ))
        })?;
        let def = Arc::new(def);
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert((workflow, version), def.clone());
        Ok(def)
    }
}

pub struct VersionSource {
    pub source: String,
    pub format: SourceFormat,
}
