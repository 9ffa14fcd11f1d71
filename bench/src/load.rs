//! A closed-loop load generator: `clients` keep-alive connections, each sending the next
//! request when the previous answer arrives, for a fixed duration.

use std::time::{Duration, Instant};

use serde_json::Value;

pub struct LoadResult {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies_us: Vec<u64>,
}

impl LoadResult {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[idx] as f64 / 1000.0
    }

    pub fn print(&self, label: &str) {
        println!(
            "   {label}: {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} errors, {:.1} s)",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.pct(0.50),
            self.pct(0.99),
            self.requests,
            self.errors,
            self.elapsed.as_secs_f64()
        );
    }
}

pub async fn run(
    url: &str,
    body: &Value,
    clients: usize,
    duration: Duration,
    expect: u16,
) -> LoadResult {
    let payload = serde_json::to_vec(body).unwrap_or_default();
    // Warm-up: one second at the same concurrency, not counted.
    let _ = drive(url, &payload, clients, Duration::from_secs(1), expect).await;
    drive(url, &payload, clients, duration, expect).await
}

async fn drive(
    url: &str,
    payload: &[u8],
    clients: usize,
    duration: Duration,
    expect: u16,
) -> LoadResult {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap_or_default();
        let url = url.to_string();
        let payload = payload.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(payload.clone())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == expect => {
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed().as_micros() as u64);
                    }
                    Ok(r) => {
                        let _ = r.bytes().await;
                        errors += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    LoadResult {
        requests: latencies.len(),
        errors,
        elapsed,
        latencies_us: latencies,
    }
}
