//! Loopback tests of the guarded client: a raw TcpListener plays the upstream so that each test
//! controls exactly what goes over the wire (including broken connections).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use suture_egress::{EgressClient, EgressError, EgressPolicy, OutboundRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the fake upstream does with each accepted connection.
#[derive(Clone)]
enum Behaviour {
    Respond(String),
    Hang,
    Close,
}

struct Upstream {
    port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn upstream(behaviour: Behaviour) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (count, seen) = (accepted.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (behaviour, seen) = (behaviour.clone(), seen.clone());
            tokio::spawn(serve(stream, behaviour, seen));
        }
    });
    Upstream {
        port,
        accepted,
        requests,
    }
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
) {
    if matches!(behaviour, Behaviour::Close) {
        drop(stream);
        return;
    }
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
    match behaviour {
        Behaviour::Respond(response) => {
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
        Behaviour::Close => {}
    }
}

fn ok_response(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Vendor-Trace: abc\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn redirect_to(location: &str) -> String {
    format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

fn get(url: &str, timeout: Duration) -> OutboundRequest {
    OutboundRequest {
        method: http::Method::GET,
        url: url.parse().unwrap(),
        headers: vec![("X-Api-Key".into(), "k-123".into())],
        body: None,
        timeout,
    }
}

fn client(allow_private: bool) -> EgressClient {
    EgressClient::new(EgressPolicy { allow_private }).unwrap()
}

#[tokio::test]
async fn returns_status_headers_and_body() {
    let up = upstream(Behaviour::Respond(ok_response(r#"{"id":7}"#))).await;
    let url = format!("http://127.0.0.1:{}/items/7", up.port);
    let resp = client(true)
        .send(get(&url, Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, br#"{"id":7}"#);
    assert_eq!(resp.final_url.as_str(), url);
    assert!(
        resp.headers
            .iter()
            .any(|(k, v)| k == "x-vendor-trace" && v == "abc")
    );
    let requests = up.requests.lock().unwrap();
    assert!(requests[0].starts_with("GET /items/7 HTTP/1.1"));
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains("x-api-key: k-123")
    );
}

#[tokio::test]
async fn localhost_by_name_is_reachable_by_default() {
    let up = upstream(Behaviour::Respond(ok_response("{}"))).await;
    let url = format!("http://localhost:{}/", up.port);
    let result = client(true).send(get(&url, Duration::from_secs(5))).await;
    // localhost may resolve to ::1 first, where nothing listens: either way the policy allowed it.
    assert!(
        !matches!(result, Err(EgressError::Refused { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn redirect_to_metadata_address_is_refused() {
    let up = upstream(Behaviour::Respond(redirect_to(
        "http://169.254.169.254/latest/meta-data/",
    )))
    .await;
    let url = format!("http://127.0.0.1:{}/start", up.port);
    let err = client(true)
        .send(get(&url, Duration::from_secs(5)))
        .await
        .unwrap_err();
    match &err {
        EgressError::Refused { url, reason } => {
            assert!(url.contains("169.254.169.254"), "{url}");
            assert!(reason.contains("metadata"), "{reason}");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(
        err.to_string()
            .starts_with("refused to call http://169.254.169.254")
    );
}

#[tokio::test]
async fn redirects_are_followed_and_drop_secrets_across_origins() {
    let target = upstream(Behaviour::Respond(ok_response(r#"{"moved":true}"#))).await;
    // Same host, another port: a different origin, so the API key must not follow.
    let first = upstream(Behaviour::Respond(redirect_to(&format!(
        "http://127.0.0.1:{}/new",
        target.port
    ))))
    .await;
    let resp = client(true)
        .send(get(
            &format!("http://127.0.0.1:{}/old", first.port),
            Duration::from_secs(5),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.final_url.path(), "/new");
    let forwarded = target.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(forwarded.starts_with("get /new"));
    assert!(!forwarded.contains("k-123"), "{forwarded}");
}

#[tokio::test]
async fn redirect_loops_stop_after_five_hops() {
    let up = upstream(Behaviour::Respond(redirect_to("/again"))).await;
    let err = client(true)
        .send(get(
            &format!("http://127.0.0.1:{}/", up.port),
            Duration::from_secs(5),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, EgressError::Refused { .. }), "{err:?}");
    assert_eq!(up.accepted.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn closed_private_policy_refuses_loopback_without_connecting() {
    let up = upstream(Behaviour::Respond(ok_response("{}"))).await;
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("http://{host}:{}/", up.port);
        let err = client(false)
            .send(get(&url, Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, EgressError::Refused { .. }),
            "{host}: {err:?}"
        );
    }
    assert_eq!(up.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn non_http_schemes_are_refused() {
    let err = client(true)
        .send(get("file:///etc/passwd", Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(matches!(err, EgressError::Refused { .. }), "{err:?}");
}

#[tokio::test]
async fn a_silent_upstream_times_out() {
    let up = upstream(Behaviour::Hang).await;
    let started = Instant::now();
    let err = client(true)
        .send(get(
            &format!("http://127.0.0.1:{}/", up.port),
            Duration::from_millis(200),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EgressError::Timeout { after_ms: 200, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_dropped_connection_is_transient() {
    let up = upstream(Behaviour::Close).await;
    let err = client(true)
        .send(get(
            &format!("http://127.0.0.1:{}/", up.port),
            Duration::from_secs(5),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EgressError::Connect { .. } | EgressError::Io { .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn nothing_listening_is_a_transient_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = client(true)
        .send(get(
            &format!("http://127.0.0.1:{port}/"),
            Duration::from_secs(5),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, EgressError::Connect { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let up = upstream(Behaviour::Respond(ok_response(&"x".repeat(2048)))).await;
    let small = EgressClient::with_body_limit(EgressPolicy::default(), 1024).unwrap();
    let err = small
        .send(get(
            &format!("http://127.0.0.1:{}/", up.port),
            Duration::from_secs(5),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EgressError::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
}
