//! The guarded client: one pooled reqwest client whose resolver applies the policy, plus manual
//! redirect following so that each hop is re-checked and caller headers do not leak cross-origin.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::{Host, Url};

use crate::error::EgressError;
use crate::policy::{EgressPolicy, PolicyRefusal, PolicyResolver};

/// Redirect hops followed before giving up (SPEC §7).
const MAX_REDIRECTS: usize = 5;
/// Default response body cap.
const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Headers that may follow a redirect to another origin; anything else (API keys in custom
/// headers, cookies, authorization) stays with the origin the caller addressed.
const CROSS_ORIGIN_SAFE_HEADERS: [&str; 4] =
    ["accept", "accept-language", "content-type", "user-agent"];

/// One outbound request as the product describes it.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Deadline for the whole exchange: every redirect hop and the full body.
    pub timeout: Duration,
}

/// A complete response (the body is read in full, up to the cap).
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    /// Lower-case names, in the order received; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL that produced this response, after redirects.
    pub final_url: Url,
    pub elapsed: Duration,
}

/// The one outbound HTTP client. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct EgressClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    policy: EgressPolicy,
    body_limit: usize,
}

/// Whether to follow redirects; the sandbox follows them itself to re-check its allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redirects {
    Follow,
    Return,
}

impl EgressClient {
    pub fn new(policy: EgressPolicy) -> Result<Self, EgressError> {
        Self::with_body_limit(policy, DEFAULT_BODY_LIMIT)
    }

    /// Like [`EgressClient::new`] with another response body cap (in bytes).
    pub fn with_body_limit(policy: EgressPolicy, body_limit: usize) -> Result<Self, EgressError> {
        let http = reqwest::Client::builder()
            .dns_resolver(PolicyResolver { policy })
            // Redirects are followed by hand so each hop is re-checked and headers filtered.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf to addresses the resolver never saw.
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(60))
            .user_agent(concat!("suture/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                EgressError::InvalidRequest(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                policy,
                body_limit,
            }),
        })
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> EgressPolicy {
        self.inner.policy
    }

    /// Sends the request, following up to 5 redirects, each re-checked against the policy.
    pub async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, EgressError> {
        self.send_with(req, Redirects::Follow).await
    }

    /// Sends the request once and returns a 3xx response as it is, for callers that must apply
    /// their own rules to each redirect target (the sandbox's per-step allow-list).
    pub async fn send_without_redirects(
        &self,
        req: OutboundRequest,
    ) -> Result<OutboundResponse, EgressError> {
        self.send_with(req, Redirects::Return).await
    }

    async fn send_with(
        &self,
        req: OutboundRequest,
        redirects: Redirects,
    ) -> Result<OutboundResponse, EgressError> {
        let started = Instant::now();
        let timeout = req.timeout;
        let url = req.url.to_string();
        match tokio::time::timeout(timeout, self.exchange(req, redirects, started)).await {
            Ok(result) => result,
            Err(_) => Err(EgressError::Timeout {
                url,
                after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }

    async fn exchange(
        &self,
        req: OutboundRequest,
        redirects: Redirects,
        started: Instant,
    ) -> Result<OutboundResponse, EgressError> {
        let mut method = req.method;
        let mut url = req.url;
        let mut headers = build_headers(&req.headers)?;
        let mut body = req.body;
        let mut hops = 0;
        loop {
            self.check_target(&url)?;
            let mut builder = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(bytes) = &body {
                builder = builder.body(bytes.clone());
            }
            let response = builder.send().await.map_err(|e| map_error(&url, &e))?;
            let status = response.status();
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let next = match (redirects, location) {
                (Redirects::Follow, Some(location)) if status.is_redirection() => {
                    url.join(&location).ok()
                }
                _ => None,
            };
            let Some(next) = next else {
                return self.read_response(response, url, started).await;
            };
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(EgressError::Refused {
                    url: next.to_string(),
                    reason: format!("more than {MAX_REDIRECTS} redirects"),
                });
            }
            if rewrites_to_get(status, &method) {
                method = Method::GET;
                body = None;
                headers.remove(http::header::CONTENT_TYPE);
                headers.remove(http::header::CONTENT_LENGTH);
            }
            if url.origin() != next.origin() {
                headers.retain_safe_cross_origin();
            }
            url = next;
        }
    }

    /// The checks reqwest's resolver cannot make: the scheme, and IP literals, which hyper
    /// connects to without asking any resolver.
    fn check_target(&self, url: &Url) -> Result<(), EgressError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(EgressError::Refused {
                url: url.to_string(),
                reason: format!(
                    "the {} scheme is not allowed, only http and https",
                    url.scheme()
                ),
            });
        }
        let ip = match url.host() {
            None => {
                return Err(EgressError::InvalidRequest(format!("{url} has no host")));
            }
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(v4)) => v4.into(),
            Some(Host::Ipv6(v6)) => v6.into(),
        };
        self.inner
            .policy
            .check_ip(ip)
            .map_err(|reason| EgressError::Refused {
                url: url.to_string(),
                reason: reason.to_owned(),
            })
    }

    async fn read_response(
        &self,
        mut response: reqwest::Response,
        url: Url,
        started: Instant,
    ) -> Result<OutboundResponse, EgressError> {
        let limit = self.inner.body_limit;
        let too_large = || EgressError::TooLarge {
            url: url.to_string(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| map_error(&url, &e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse {
            status,
            headers,
            body,
            final_url: url,
            elapsed: started.elapsed(),
        })
    }
}

fn build_headers(pairs: &[(String, String)]) -> Result<HeaderMap, EgressError> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| EgressError::InvalidRequest(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| EgressError::InvalidRequest(format!("invalid value for header {name}")))?;
        map.append(name, value);
    }
    Ok(map)
}

trait RetainSafe {
    fn retain_safe_cross_origin(&mut self);
}

impl RetainSafe for HeaderMap {
    fn retain_safe_cross_origin(&mut self) {
        let kept: HeaderMap = self
            .iter()
            .filter(|(name, _)| CROSS_ORIGIN_SAFE_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        *self = kept;
    }
}

/// 303 always, and 301/302 after a POST, turn into a GET without body (what browsers do).
fn rewrites_to_get(status: StatusCode, method: &Method) -> bool {
    match status {
        StatusCode::SEE_OTHER => method != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => method == Method::POST,
        _ => false,
    }
}

fn map_error(url: &Url, err: &reqwest::Error) -> EgressError {
    let url = url.to_string();
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<PolicyRefusal>() {
            return EgressError::Refused {
                url,
                reason: refusal.to_string(),
            };
        }
        source = cause.source();
    }
    let message = cause_chain(err);
    if err.is_timeout() {
        EgressError::Timeout {
            url,
            after_ms: 10_000,
        }
    } else if err.is_connect() {
        EgressError::Connect { url, message }
    } else if err.is_builder() {
        EgressError::InvalidRequest(message)
    } else {
        EgressError::Io { url, message }
    }
}

/// reqwest's own Display is only the outermost layer ("error sending request"); the useful part
/// (connection refused, reset by peer) is further down.
fn cause_chain(err: &reqwest::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
