//! The server under test, as a child process: start, read the printed bootstrap token, create
//! workflows, read its RSS from /proc, stop.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::upstream::{Upstream, contact_workflow};

pub fn default_binary() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    format!("{target}/release/suture")
}

pub struct Server {
    child: tokio::process::Child,
    pub base: String,
    token: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(bin: &str) -> anyhow::Result<Server> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = tokio::process::Command::new(bin)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .env("SUTURE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot start {bin}: {e} (build it with cargo build --release -p suture-server)"
                )
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut token = None;
        let started = Instant::now();
        while token.is_none() && started.elapsed() < Duration::from_secs(30) {
            match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    if let Some(t) = line.split_whitespace().find(|w| w.starts_with("sut_")) {
                        token = Some(t.to_string());
                    }
                }
                _ => break,
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let token =
            token.ok_or_else(|| anyhow::anyhow!("the server did not print an API token"))?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Server {
            child,
            base,
            token,
            client,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / 100.0
    }

    pub fn rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    /// Creates a workflow and returns its webhook URL.
    pub async fn create_workflow(&self, yaml: &str) -> anyhow::Result<String> {
        self.created_field(yaml, "webhook_url").await
    }

    async fn create_workflow_id(&self, yaml: &str) -> anyhow::Result<String> {
        self.created_field(yaml, "id").await
    }

    async fn created_field(&self, yaml: &str, field: &str) -> anyhow::Result<String> {
        let r: Value = self
            .client
            .post(format!("{}/api/v1/workflows", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/yaml")
            .body(yaml.to_string())
            .send()
            .await?
            .json()
            .await?;
        r[field]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("create failed: {r}"))
    }

    pub async fn post_raw(&self, url: &str, body: &Value) -> anyhow::Result<String> {
        Ok(self
            .client
            .post(url)
            .json(body)
            .send()
            .await?
            .text()
            .await?)
    }

    /// Waits until no run is queued or running (the async intake backlog is executed).
    pub async fn drain(&self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            let q: Value = match self
                .client
                .get(format!("{}/api/v1/runs?status=queued&limit=1", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
            {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => break,
            };
            if q["items"].as_array().is_none_or(|a| a.is_empty()) {
                println!(
                    "   backlog executed {:.1} s after intake stopped",
                    start.elapsed().as_secs_f64()
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("   backlog not drained after {:.0} s", limit.as_secs_f64());
    }

    pub async fn time_to_heal(&self, upstream: &Upstream) -> anyhow::Result<()> {
        let wf = self
            .create_workflow_id(&contact_workflow(&upstream.base))
            .await?;
        let url = format!("{}/api/v1/workflows/{wf}/runs?wait=30", self.base);
        let mut healthy = Vec::new();
        upstream.set_renamed(false);
        for i in 0..20 {
            let t0 = Instant::now();
            let r: Value = self
                .client
                .post(&url)
                .bearer_auth(&self.token)
                .json(&json!({"id": i}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::ensure!(r["status"] == "succeeded", "healthy run: {r}");
            healthy.push(t0.elapsed());
        }
        upstream.set_renamed(true);
        let t0 = Instant::now();
        let first: Value = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .json(&json!({"id": 1000}))
            .send()
            .await?
            .json()
            .await?;
        let first_elapsed = t0.elapsed();
        anyhow::ensure!(first["status"] == "healed", "first broken run: {first}");
        let repair_ms: i64 = first["repairs"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["duration_ms"].as_i64()).sum())
            .unwrap_or(0);
        let mut reused = Vec::new();
        for i in 0..20 {
            let t0 = Instant::now();
            let r: Value = self
                .client
                .post(&url)
                .bearer_auth(&self.token)
                .json(&json!({"id": 2000 + i}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::ensure!(r["status"] == "healed", "antibody run: {r}");
            reused.push(t0.elapsed());
        }
        healthy.sort_unstable();
        reused.sort_unstable();
        let med = |v: &Vec<Duration>| v[v.len() / 2].as_secs_f64() * 1000.0;
        println!(
            "   healthy run (API ?wait round trip): median {:.1} ms",
            med(&healthy)
        );
        println!(
            "   first healed run (generate + sandbox + validate + record): {:.1} ms round trip; sandbox+validation {} ms; heal overhead ≈ {:.1} ms",
            first_elapsed.as_secs_f64() * 1000.0,
            repair_ms,
            first_elapsed.as_secs_f64() * 1000.0 - med(&healthy)
        );
        println!(
            "   healed by a stored antibody: median {:.1} ms round trip (overhead ≈ {:.1} ms)",
            med(&reused),
            med(&reused) - med(&healthy)
        );
        Ok(())
    }

    pub fn stop(mut self) {
        let _ = self.child.start_kill();
    }
}
