//! A throwaway Redis Sentinel (`redis-server --sentinel`, the binary `redis-sentinel` is
//! a link to) watching one primary, with quick failure detection; stopped on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::net::{Process, free_port, wait_for_port};
use super::redis_server::find_redis_server;

pub struct Sentinel {
    _process: Process,
    port: u16,
    dir: PathBuf,
}

impl Sentinel {
    /// A Sentinel that names the primary on `primary_port` as `service`; `None` when
    /// `redis-server` is missing (a failure under `CI=true`).
    pub fn start(primary_port: u16, service: &str) -> Option<Self> {
        let binary = find_redis_server()?;
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("jwt-session-sentinel-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("sentinel.conf");
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {service} 127.0.0.1 {primary_port} 1\n\
                 sentinel down-after-milliseconds {service} 1000\n\
                 sentinel failover-timeout {service} 3000\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg(&config)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server --sentinel");
        wait_for_port(port);
        Some(Self {
            _process: Process(child),
            port,
            dir,
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
