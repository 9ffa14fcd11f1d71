//! Benchmarks for SPEC §8 that print figures (never timed tests). Starts `suture serve` as a
//! child process on a fresh SQLite data dir, a local upstream in this process, and drives load
//! over keep-alive connections.
//!
//!   cargo build --release -p suture-server -p suture-bench
//!   target/release/suture-bench [--seconds 10] [--server-bin target/release/suture]

mod load;
mod sandbox;
mod server;
mod upstream;

use std::time::Duration;

use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(10);
    let bin = arg("--server-bin").unwrap_or_else(server::default_binary);
    let only = arg("--only");
    let want = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == name))
    };
    let dur = Duration::from_secs(seconds);

    if want("sandbox") {
        sandbox::run().await?;
    }

    let upstream = upstream::start().await?;
    let srv = server::Server::start(&bin).await?;
    println!(
        "\nserver: {bin} (pid {}), SQLite in a fresh temp dir",
        srv.pid()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("RSS idle: {:.1} MiB", srv.rss_mib());

    if want("intake") {
        let hook = srv.create_workflow(&upstream::intake_workflow()).await?;
        println!("\n== webhook intake → run queued (202), async workflow");
        for clients in [1usize, 16] {
            let cpu0 = srv.cpu_seconds();
            let r = load::run(&hook, &json!({"user": "alice", "n": 1}), clients, dur, 202).await;
            r.print(&format!("intake, {clients:>2} clients"));
            cpu_line(&srv, cpu0, &r);
        }
        println!("   RSS after intake: {:.1} MiB", srv.rss_mib());
        srv.drain(Duration::from_secs(120)).await;
    }

    if want("reference") {
        let hook = srv
            .create_workflow(&upstream::reference_workflow(&upstream.base))
            .await?;
        println!(
            "\n== reference workload (GET upstream, set, synchronous answer), every run and step durable"
        );
        let check = srv
            .post_raw(&hook, &json!({"user": "alice", "n": 1}))
            .await?;
        println!("   answer: {check}");
        for clients in [1usize, 16] {
            let cpu0 = srv.cpu_seconds();
            let r = load::run(&hook, &json!({"user": "alice", "n": 1}), clients, dur, 200).await;
            r.print(&format!("reference, {clients:>2} clients"));
            cpu_line(&srv, cpu0, &r);
            println!("   RSS under load: {:.1} MiB", srv.rss_mib());
        }
    }

    if want("three-step") {
        let hook = srv
            .create_workflow(&upstream::three_step_workflow(&upstream.base))
            .await?;
        println!("\n== 3-step workflow (GET, set, POST), synchronous, every run and step durable");
        for clients in [1usize, 16] {
            let cpu0 = srv.cpu_seconds();
            let r = load::run(&hook, &json!({"user": "alice", "n": 1}), clients, dur, 200).await;
            r.print(&format!("3-step, {clients:>2} clients"));
            cpu_line(&srv, cpu0, &r);
            println!("   RSS under load: {:.1} MiB", srv.rss_mib());
        }
    }

    if want("heal") {
        println!("\n== time to heal (renamed field, heuristic generator, local upstream)");
        srv.time_to_heal(&upstream).await?;
    }
    println!("\nRSS at the end: {:.1} MiB", srv.rss_mib());
    srv.stop();
    Ok(())
}

/// Server CPU per request and its share of the machine: the load generator and the upstream
/// share the same two cores, so this says how much of the figure is the server's own cost.
fn cpu_line(srv: &server::Server, cpu0: f64, r: &load::LoadResult) {
    let used = srv.cpu_seconds() - cpu0;
    // The warm-up second is included in the CPU delta but not in the request count.
    let total = r.requests as f64 * (1.0 + 1.0 / r.elapsed.as_secs_f64());
    println!(
        "   server CPU: {:.2} ms per request, {:.0} % of one core on average",
        used * 1000.0 / total.max(1.0),
        used * 100.0 / (r.elapsed.as_secs_f64() + 1.0)
    );
}
