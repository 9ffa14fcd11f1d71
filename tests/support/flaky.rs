//! A raw TCP vendor that drops the first `n` connections without answering (a reset as the
//! client sees it), then serves a fixed JSON body: the "connection reset" transient fault.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Flaky {
    pub base: String,
    pub accepted: Arc<AtomicUsize>,
}

pub async fn start(drop_first: usize, body: &'static str) -> Flaky {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = sock.read(&mut buf).await;
                if n < drop_first {
                    // Close without a response: the client sees the connection closed mid-request.
                    drop(sock);
                    return;
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Flaky {
        base: format!("http://{addr}"),
        accepted,
    }
}

impl Flaky {
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
