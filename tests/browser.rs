//! The dashboard in a real browser (Debian's headless Chromium through chromedriver): log in,
//! open the healed run, open its repair, see the patch source. Works without JavaScript, so it
//! also checks the forms' CSRF round trip.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use suture_tests::support::defs::get_contact;
use suture_tests::support::{Backend, Vendor, VendorMode, skip_or_fail, spawn_app};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: tokio::process::Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_driver() -> Result<Driver, String> {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        return Err(format!(
            "{CHROMIUM} or {CHROMEDRIVER} is not installed (apt-get install chromium chromium-driver)"
        ));
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        l.local_addr().map_err(|e| e.to_string())?.port()
    };
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start chromedriver: {e}"))?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
            return Ok(Driver {
                child,
                port,
                _profile: profile,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("chromedriver did not start listening".into())
}

#[tokio::test]
async fn dashboard_shows_the_healed_run_and_its_patch() {
    let driver = match start_driver().await {
        Ok(d) => d,
        Err(reason) => {
            skip_or_fail("dashboard_shows_the_healed_run_and_its_patch", &reason);
            return;
        }
    };
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let vendor = Vendor::start().await;
    let wf = app
        .create_workflow(&get_contact(&vendor.base, "auto"))
        .await;
    vendor.set_mode(VendorMode::RenamedField);
    let run = app
        .run_and_wait(wf["id"].as_str().expect("id"), &json!({"contactId": 11}))
        .await;
    assert_eq!(run["status"], "healed", "{run}");
    let run_id = run["id"].as_str().expect("id").to_string();

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connect to chromedriver");

    let result = async {
        client.goto(&app.url(&format!("/runs/{run_id}"))).await?;
        // Not logged in: the login page, which returns us to the run afterwards.
        client
            .find(Locator::Css("input[name=email]"))
            .await?
            .send_keys("admin")
            .await?;
        client
            .find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(&app.admin_password)
            .await?;
        client
            .find(Locator::Css(
                "form button[type=submit], form input[type=submit]",
            ))
            .await?
            .click()
            .await?;
        client.wait().for_element(Locator::Css("body")).await?;
        let url = client.current_url().await?;
        assert!(
            url.path().ends_with(&run_id),
            "after login we are back on the run page: {url}"
        );
        let body = client.find(Locator::Css("body")).await?.text().await?;
        assert!(
            body.contains("getContact"),
            "the step timeline shows the step"
        );
        assert!(
            body.to_lowercase().contains("healed"),
            "the run is shown as healed"
        );

        save_screenshot(&client, "run").await;
        // Follow the repair link from the timeline.
        let link = client.find(Locator::Css("a[href^='/repairs/']")).await?;
        link.click().await?;
        let patch = client
            .wait()
            .for_element(Locator::Id("patch-source"))
            .await?;
        let source = patch.text().await?;
        assert!(
            source.contains("export default async function repair"),
            "patch source shown: {source}"
        );
        let page = client.find(Locator::Css("body")).await?.text().await?;
        assert!(page.contains("accepted"), "the verdict is shown");
        assert!(
            !page.contains("vendor-secret-123"),
            "no credential on the page"
        );
        save_screenshot(&client, "repair").await;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = client.close().await;
    result.expect("browser steps");
    app.shutdown().await;
}

/// With `SUTURE_TEST_SCREENSHOT_DIR` set, keeps PNGs of the pages for a human to look at.
async fn save_screenshot(client: &fantoccini::Client, name: &str) {
    let Ok(dir) = std::env::var("SUTURE_TEST_SCREENSHOT_DIR") else {
        return;
    };
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png);
    }
}
