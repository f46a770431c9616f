//! Loopback helpers for suites that run real servers.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port`, for at most 30 s.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on port {port} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Serves the app that `configure` builds on a free loopback port, on its own thread, for
/// the rest of the run, and returns the port.
pub fn serve_in_background<F>(configure: F) -> u16
where
    F: Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let ended = actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || actix_web::App::new().configure(configure.clone()))
                .workers(1)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run()
                .await
        });
        if let Err(err) = ended {
            eprintln!("a background test server stopped: {err}");
        }
    });
    wait_for_port(port);
    port
}

/// A child process killed on drop.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary of example `name`, which `cargo test` builds next to the tests (built here
/// when the test runs alone, or rebuilt when stale: `--test x` does not build examples; the
/// examples are jwt-session's, whichever package the test is in).
pub fn example_binary(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let binary = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // The axum examples need the feature their `required-features` names.
        let features: &[&str] = if name.starts_with("axum") {
            &["--features", "axum"]
        } else {
            &[]
        };
        let status = Command::new(cargo)
            .args(["build", "-p", "jwt-session", "--example", name])
            .args(features)
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example {name}");
    }
    binary
}

/// Reports that `suite` cannot run for `why`: a failure under `CI=true`, else a loud skip
/// message that names `fix`.
pub fn skip_or_fail(suite: &str, why: &str, fix: &str) {
    assert!(
        !std::env::var("CI").is_ok_and(|ci| ci == "true"),
        "CI=true but {suite} cannot run: {why}"
    );
    // Straight to stderr: the test harness captures `eprintln!`.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!! SKIPPING {suite}: {why}\n!!!! {fix}\n"
    );
}
