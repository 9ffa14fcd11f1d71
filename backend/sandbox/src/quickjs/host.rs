//! The host side of `fetch` and `log`: allow-list and fetch-count checks, credential injection,
//! redirect following with the allow-list re-applied, and the bounded record of what happened.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use suture_egress::{EgressClient, OutboundRequest, OutboundResponse};
use tokio::runtime::Handle;
use url::Url;

use crate::api::{FetchRecord, InjectedCredential, LogLine};

/// Upper bound of one fetch, further cut by the remaining wall time.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const EXCERPT_BYTES: usize = 2048;
const MAX_REDIRECTS: usize = 5;
const REDACTED: &str = "[redacted]";
/// Shorter values would match ordinary text; a credential that short is not worth hiding.
const MIN_SCRUB_LEN: usize = 4;

/// What the script did, shared with the async side so a runaway thread still reports it.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub logs: Vec<LogLine>,
    pub fetches: Vec<FetchRecord>,
    log_bytes: usize,
    log_truncated: bool,
    fetch_calls: u32,
}

pub(crate) type SharedRecord = Arc<Mutex<Record>>;

/// A poisoned lock only means a host call panicked; the record itself is still sound.
pub(crate) fn lock(record: &SharedRecord) -> MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything the host functions need, moved into the JS thread.
pub(crate) struct Host {
    pub egress: EgressClient,
    pub handle: Handle,
    pub deadline: Instant,
    pub allowed_hosts: HashSet<String>,
    pub credentials: Vec<InjectedCredential>,
    pub max_fetches: u32,
    pub max_log_bytes: usize,
    pub record: SharedRecord,
}

impl Host {
    pub fn log(&self, level: &str, message: String) {
        let mut record = lock(&self.record);
        if record.log_truncated {
            return;
        }
        let room = self.max_log_bytes.saturating_sub(record.log_bytes);
        let level = match level {
            "debug" | "info" | "warn" | "error" => level,
            _ => "info",
        };
        let message = self.scrub(&message);
        if message.len() <= room {
            record.log_bytes += message.len();
            record.logs.push(LogLine {
                level: level.to_owned(),
                message,
            });
            return;
        }
        let cut = floor_char_boundary(&message, room);
        if cut > 0 {
            record.logs.push(LogLine {
                level: level.to_owned(),
                message: message[..cut].to_owned(),
            });
        }
        record.log_bytes = self.max_log_bytes;
        record.log_truncated = true;
        record.logs.push(LogLine {
            level: "warn".to_owned(),
            message: format!(
                "log limit of {} bytes reached; later lines dropped",
                self.max_log_bytes
            ),
        });
    }

    /// Runs one `fetch` and answers the prelude with a JSON string (a reply or an error kind).
    pub fn fetch(
        &self,
        method: String,
        url: String,
        headers_json: String,
        body: Option<String>,
    ) -> String {
        let started = Instant::now();
        let mut entry = FetchRecord {
            method: method.clone(),
            url: url.clone(),
            status: None,
            error: None,
            duration_ms: 0,
            response_body_excerpt: String::new(),
            response_json: None,
        };
        let reply = self.fetch_inner(method, &url, &headers_json, body, &mut entry);
        entry.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let reply = match reply {
            Ok(reply) => reply,
            Err((kind, message)) => {
                entry.error = Some(message.clone());
                serde_json::json!({ "ok": false, "kind": kind, "message": message })
            }
        };
        lock(&self.record).fetches.push(entry);
        reply.to_string()
    }

    fn fetch_inner(
        &self,
        method: String,
        url: &str,
        headers_json: &str,
        body: Option<String>,
        entry: &mut FetchRecord,
    ) -> Result<serde_json::Value, (&'static str, String)> {
        {
            let mut record = lock(&self.record);
            if record.fetch_calls >= self.max_fetches {
                return Err((
                    "TooManyFetches",
                    format!("too many fetches: this step allows {}", self.max_fetches),
                ));
            }
            record.fetch_calls += 1;
        }
        let mut url =
            Url::parse(url).map_err(|e| ("InvalidUrl", format!("invalid URL {url:?}: {e}")))?;
        self.check_allowed(&url)?;
        let mut method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| ("InvalidUrl", format!("invalid method {method:?}")))?;
        let script_headers: BTreeMap<String, String> = serde_json::from_str(headers_json)
            .map_err(|e| ("InvalidUrl", format!("invalid headers: {e}")))?;
        let mut body = body.map(String::into_bytes);
        let mut redirected = false;
        let mut hops = 0;
        let response = loop {
            let request = OutboundRequest {
                method: method.clone(),
                url: url.clone(),
                headers: self.headers_for(&url, &script_headers),
                body: body.clone(),
                timeout: self.fetch_timeout()?,
            };
            let response = self
                .handle
                .block_on(self.egress.send_without_redirects(request))
                .map_err(|e| ("FetchFailed", format!("fetch failed: {e}")))?;
            let Some(next) = redirect_target(&response) else {
                break response;
            };
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err((
                    "FetchFailed",
                    format!("fetch failed: more than {MAX_REDIRECTS} redirects"),
                ));
            }
            self.check_allowed(&next)?;
            if response.status == 303
                || (matches!(response.status, 301 | 302) && method == http::Method::POST)
            {
                method = http::Method::GET;
                body = None;
            }
            redirected = true;
            url = next;
        };
        let text = self.scrub(&String::from_utf8_lossy(&response.body));
        entry.status = Some(response.status);
        entry.response_body_excerpt = text[..floor_char_boundary(&text, EXCERPT_BYTES)].to_owned();
        entry.response_json = serde_json::from_str(&text).ok();
        let mut headers = serde_json::Map::new();
        for (name, value) in &response.headers {
            let value = self.scrub(value);
            match headers.get_mut(name) {
                Some(serde_json::Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                _ => {
                    headers.insert(name.clone(), serde_json::Value::String(value));
                }
            }
        }
        Ok(serde_json::json!({
            "ok": true,
            "status": response.status,
            "url": response.final_url.as_str(),
            "redirected": redirected,
            "headers": headers,
            "body": text,
        }))
    }

    fn check_allowed(&self, url: &Url) -> Result<(), (&'static str, String)> {
        let allowed = matches!(url.scheme(), "http" | "https")
            && host_port(url).is_some_and(|hp| self.allowed_hosts.contains(&hp));
        if allowed {
            Ok(())
        } else {
            Err((
                "FetchDenied",
                format!("fetch denied: {url} is not allowed for this step"),
            ))
        }
    }

    /// The script's headers, minus any it tried to set under a credential's name, plus the
    /// credentials for exactly this host.
    fn headers_for(&self, url: &Url, script: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let target = host_port(url);
        let injected: Vec<&(String, String)> = self
            .credentials
            .iter()
            .filter(|c| target.as_deref() == Some(normalise_host(&c.host).as_str()))
            .flat_map(|c| c.headers.iter())
            .collect();
        let mut headers: Vec<(String, String)> = script
            .iter()
            .filter(|(name, _)| !injected.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        headers.extend(injected.into_iter().cloned());
        headers
    }

    fn fetch_timeout(&self) -> Result<Duration, (&'static str, String)> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err((
                "FetchFailed",
                "fetch failed: the script's time is up".to_owned(),
            ));
        }
        Ok(remaining.min(FETCH_TIMEOUT))
    }

    /// Keeps injected secrets out of everything the script or the audit log can see, even when
    /// an upstream echoes request headers back.
    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (_, value) in self.credentials.iter().flat_map(|c| c.headers.iter()) {
            if value.len() >= MIN_SCRUB_LEN && text.contains(value.as_str()) {
                text = text.replace(value.as_str(), REDACTED);
            }
        }
        text
    }
}

fn redirect_target(response: &OutboundResponse) -> Option<Url> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response
        .headers
        .iter()
        .find(|(name, _)| name == "location")
        .map(|(_, value)| value)?;
    response.final_url.join(location).ok()
}

/// `host:port` with the scheme's default port filled in; IPv6 hosts keep their brackets.
pub(crate) fn host_port(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

pub(crate) fn normalise_host(entry: &str) -> String {
    entry.trim().to_ascii_lowercase()
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}
