//! Test harness shared by the sandbox suites: a loopback upstream that counts every accepted
//! connection and keeps the raw requests, and request builders with short limits.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use suture_egress::{EgressClient, EgressPolicy};
use suture_sandbox::{Limits, QuickJsEngine, ScriptKind, ScriptRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct Upstream {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    /// Answers every request with 200 and `body` as JSON.
    pub async fn json(body: &str) -> Self {
        Self::start(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Upstream: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
        .await
    }

    /// Answers every request with a 302 to `location`.
    pub async fn redirect(location: &str) -> Self {
        Self::start(format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await
    }

    async fn start(response: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (accepted.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (seen, response) = (seen.clone(), response.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf).into_owned());
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            port,
            accepted,
            requests,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

pub fn engine() -> QuickJsEngine {
    QuickJsEngine::new(EgressClient::new(EgressPolicy::default()).unwrap())
}

pub fn limits() -> Limits {
    Limits {
        wall_time: Duration::from_millis(2000),
        ..Limits::default()
    }
}

pub fn task(source: &str, input: serde_json::Value) -> ScriptRequest {
    ScriptRequest {
        kind: ScriptKind::Task,
        source: source.to_owned(),
        ctx: input,
        allowed_hosts: vec![],
        credentials: vec![],
        limits: limits(),
    }
}

pub fn repair(source: &str, ctx: serde_json::Value) -> ScriptRequest {
    ScriptRequest {
        kind: ScriptKind::Repair,
        ..task(source, ctx)
    }
}
