//! The `suture` binary as users run it: `serve` on a fresh data dir prints the one-time
//! password and token and creates `./data/suture.db`; `tenant create` prints one JSON line
//! against the same database; `validate` checks a file offline; `run` executes one locally.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code fails loudly by design

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_suture");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serve_bootstraps_then_tenant_create_uses_the_same_database() {
    let cwd = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .current_dir(cwd.path())
        .env("SUTURE_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("SUTURE_DATA_DIR")
        .env_remove("SUTURE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let (mut password, mut token) = (None, None);
    let started = Instant::now();
    while (password.is_none() || token.is_none()) && started.elapsed() < Duration::from_secs(60) {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("admin /") {
            password = line
                .split("admin /")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string);
        }
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("sut_")) {
            token = Some(t.to_string());
        }
    }
    assert!(
        password.as_deref().is_some_and(|p| p.len() >= 16),
        "a one-time password is printed"
    );
    let token = token.expect("an API token is printed");
    assert!(
        cwd.path().join("data/suture.db").exists(),
        "the embedded database lives under ./data"
    );

    // The server answers with that token.
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let req = format!(
                "GET /api/v1/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).unwrap();
            let mut resp = String::new();
            let _ = s.read_to_string(&mut resp);
            ok = resp.starts_with("HTTP/1.1 200");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the printed token works");

    // A second start on the same data prints no new credentials.
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .args(["tenant", "create", "acme"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(v["tenant_id"].is_string());
    assert!(v["token"].as_str().unwrap().starts_with("sut_"));

    let again = Command::new(BIN)
        .current_dir(cwd.path())
        .args(["tenant", "create", "acme"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn validate_reports_problems_with_paths() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "document: { dsl: '1.0.0', namespace: demo, name: hello, version: '1.0.0' }\ndo:\n  - greet:\n      set: { message: hi }\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["validate"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid"));

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "document: { dsl: '1.0.0', namespace: demo, name: hello, version: '1.0.0' }\ndo:\n  - fan:\n      fork: { branches: [] }\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["validate"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/do/0/fan/fork"), "{err}");
}

#[test]
fn run_executes_a_definition_once_locally() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wf.yaml");
    std::fs::write(
        &file,
        "document: { dsl: '1.0.0', namespace: demo, name: hello, version: '1.0.0' }\ndo:\n  - greet:\n      set:\n        message: '${ \"hello \" + .name }'\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["run"])
        .arg(&file)
        .args(["--input", r#"{"name":"Ada"}"#])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["output"]["message"], "hello Ada");
    assert!(
        !dir.path().join("data").exists(),
        "`suture run` leaves no database behind"
    );
}
