//! `call: http` — builds the request from the task's templates, sends it through the guarded
//! egress client with the retry policy, and shapes the vendor's answer into the task output.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use suture_domain::expr::Scope;
use suture_domain::workflow::{HttpCall, HttpOutput};
use suture_egress::{EgressClient, EgressError, OutboundRequest, OutboundResponse};
use url::Url;

use crate::attempts::Attempt;
use crate::classify::{Verdict, classify_status};
use crate::retry::{RetryPolicy, parse_retry_after};

/// Header names whose values are credentials: the healer injects them from the host side and
/// redacts them from everything a script, a log or the audit trail can see.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "x-api-key" | "api-key" | "apikey"
    ) || n.contains("token")
        || n.contains("secret")
        || n.ends_with("-key")
}

#[derive(Debug, Clone)]
pub struct PreparedRequest {
    pub method: http::Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub body_json: Option<Value>,
}

impl PreparedRequest {
    pub fn to_outbound(&self, timeout: Duration) -> OutboundRequest {
        OutboundRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            timeout,
        }
    }

    /// `host:port` of the vendor: the unit of tools, breakers and sandbox allow-lists.
    pub fn host_port(&self) -> String {
        host_port(&self.url)
    }

    /// Method and path with numeric or uuid-like segments generalised, so one fingerprint
    /// covers every call of the same operation.
    pub fn operation(&self) -> String {
        let path: Vec<String> = self
            .url
            .path_segments()
            .map(|segs| segs.map(generalise_segment).collect())
            .unwrap_or_default();
        format!("{} /{}", self.method, path.join("/"))
    }

    pub fn redacted_headers(&self) -> Map<String, Value> {
        self.headers
            .iter()
            .map(|(k, v)| {
                let value = if is_secret_header(k) {
                    "[redacted]".to_string()
                } else {
                    v.clone()
                };
                (k.to_ascii_lowercase(), Value::String(value))
            })
            .collect()
    }

    pub fn secret_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| is_secret_header(k))
            .cloned()
            .collect()
    }
}

pub fn host_port(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn generalise_segment(seg: &str) -> String {
    let looks_like_id = !seg.is_empty()
        && (seg.chars().all(|c| c.is_ascii_digit())
            || (seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-')));
    if looks_like_id {
        "{id}".to_string()
    } else {
        seg.to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Expression(String),
    #[error("endpoint `{0}` is not a valid absolute http(s) URL")]
    BadUrl(String),
    #[error("{0}")]
    Shape(String),
}

pub fn prepare(
    call: &HttpCall,
    input: &Value,
    scope: &Scope,
    idempotency_key: &str,
) -> Result<PreparedRequest, PrepareError> {
    let endpoint = call
        .endpoint
        .eval(input, scope)
        .map_err(|e| PrepareError::Expression(e.to_string()))?;
    let endpoint = match endpoint {
        Value::String(s) => s,
        Value::Object(ref o) => match o.get("uri") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(PrepareError::Shape(
                    "endpoint object needs a string `uri`".into(),
                ));
            }
        },
        other => {
            return Err(PrepareError::Shape(format!(
                "endpoint evaluated to {other}, not a URL"
            )));
        }
    };
    let mut url = Url::parse(&endpoint).map_err(|_| PrepareError::BadUrl(endpoint.clone()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PrepareError::BadUrl(endpoint));
    }
    if let Some(query) = &call.query {
        let q = query
            .eval(input, scope)
            .map_err(|e| PrepareError::Expression(e.to_string()))?;
        let Value::Object(pairs) = q else {
            return Err(PrepareError::Shape(
                "query must evaluate to an object".into(),
            ));
        };
        let mut qp = url.query_pairs_mut();
        for (k, v) in pairs {
            qp.append_pair(&k, &scalar_text(&v));
        }
    }
    let mut headers = Vec::new();
    if let Some(h) = &call.headers {
        let h = h
            .eval(input, scope)
            .map_err(|e| PrepareError::Expression(e.to_string()))?;
        let Value::Object(pairs) = h else {
            return Err(PrepareError::Shape(
                "headers must evaluate to an object".into(),
            ));
        };
        for (k, v) in pairs {
            headers.push((k, scalar_text(&v)));
        }
    }
    let (body, body_json) = match &call.body {
        None => (None, None),
        Some(t) => {
            let v = t
                .eval(input, scope)
                .map_err(|e| PrepareError::Expression(e.to_string()))?;
            match &v {
                Value::String(s) => (Some(s.clone().into_bytes()), Some(v)),
                _ => {
                    if !headers
                        .iter()
                        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                    {
                        headers.push(("content-type".into(), "application/json".into()));
                    }
                    (Some(serde_json::to_vec(&v).unwrap_or_default()), Some(v))
                }
            }
        }
    };
    let method = http::Method::from_bytes(call.method.as_bytes())
        .map_err(|_| PrepareError::Shape(format!("`{}` is not an HTTP method", call.method)))?;
    if method != http::Method::GET
        && method != http::Method::HEAD
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("idempotency-key"))
    {
        headers.push(("idempotency-key".into(), idempotency_key.to_string()));
    }
    Ok(PreparedRequest {
        method,
        url,
        headers,
        body,
        body_json,
    })
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The result of sending a request with retries: the last answer (or error) and every attempt.
pub struct CallResult {
    pub last: Result<OutboundResponse, EgressError>,
    pub attempts: Vec<Attempt>,
}

/// Longest pause the worker sleeps through inline; anything longer would pin a worker slot.
pub const INLINE_BACKOFF_BUDGET: Duration = Duration::from_secs(15);

pub async fn send_with_retries(
    egress: &EgressClient,
    req: &PreparedRequest,
    policy: &RetryPolicy,
    timeout: Duration,
) -> CallResult {
    let mut attempts = Vec::new();
    let mut slept = Duration::ZERO;
    let mut n = 1;
    loop {
        let started_at = chrono::Utc::now();
        let t0 = Instant::now();
        let result = egress.send(req.to_outbound(timeout)).await;
        let elapsed = t0.elapsed();
        let (transient, retry_after, attempt) = match &result {
            Ok(resp) => {
                let verdict = classify_status(resp.status);
                let retry_after = header(&resp.headers, "retry-after")
                    .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
                (
                    verdict == Verdict::Transient,
                    retry_after,
                    Attempt::response(n, started_at, elapsed, resp.status, verdict),
                )
            }
            Err(e) => (
                e.is_transient(),
                None,
                Attempt::error(n, started_at, elapsed, e.to_string(), e.is_transient()),
            ),
        };
        attempts.push(attempt);
        if !transient || n >= policy.max_attempts {
            return CallResult {
                last: result,
                attempts,
            };
        }
        let delay = policy.delay_before(n + 1, retry_after);
        if slept + delay > INLINE_BACKOFF_BUDGET {
            return CallResult {
                last: result,
                attempts,
            };
        }
        tracing::debug!(
            attempt = n,
            delay_ms = delay.as_millis() as u64,
            "transient failure, retrying"
        );
        tokio::time::sleep(delay).await;
        slept += delay;
        n += 1;
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Body as JSON when it is JSON (by media type or by content), else as text.
pub fn decode_body(resp: &OutboundResponse) -> (Value, Option<Value>) {
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    let json = serde_json::from_slice::<Value>(&resp.body).ok();
    let value = json.clone().unwrap_or_else(|| {
        if text.is_empty() {
            Value::Null
        } else {
            Value::String(text.clone())
        }
    });
    (value, json)
}

pub fn shape_output(kind: HttpOutput, resp: &OutboundResponse, body: Value) -> Value {
    match kind {
        HttpOutput::Content => body,
        HttpOutput::Response | HttpOutput::Raw => {
            let headers: Map<String, Value> = resp
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            json!({ "statusCode": resp.status, "headers": headers, "content": body })
        }
    }
}

/// Short excerpt of a body for the audit log and error messages.
pub fn excerpt(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= limit {
        return text.into_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_generalise_ids() {
        let req = PreparedRequest {
            method: http::Method::GET,
            url: Url::parse("http://127.0.0.1:9000/v1/contacts/42?x=1").unwrap(),
            headers: vec![("Authorization".into(), "Bearer s3cret".into())],
            body: None,
            body_json: None,
        };
        assert_eq!(req.operation(), "GET /v1/contacts/{id}");
        assert_eq!(req.host_port(), "127.0.0.1:9000");
        assert_eq!(req.redacted_headers()["authorization"], "[redacted]");
        assert_eq!(req.secret_headers().len(), 1);
    }

    #[test]
    fn secret_headers_are_recognised() {
        for h in [
            "Authorization",
            "X-Api-Key",
            "x-auth-token",
            "X-Client-Secret",
            "cookie",
        ] {
            assert!(is_secret_header(h), "{h}");
        }
        for h in ["content-type", "accept", "x-request-id"] {
            assert!(!is_secret_header(h), "{h}");
        }
    }
}
