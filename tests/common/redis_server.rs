//! A throwaway `redis-server` on a free loopback port, persistence off, stopped on drop.
// Shared with the benches (benches/support), which use only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::net::{free_port, skip_or_fail, wait_for_port};

pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or returns `None` after a loud message when `redis-server` is missing
    /// (a failure under `CI=true`).
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// [`start`](Self::start) with more `redis-server` arguments (`--replicaof`, ...).
    pub fn start_with(args: &[&str]) -> Option<Self> {
        let binary = find_redis_server()?;
        let mut server = Self {
            binary,
            port: free_port(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            child: None,
        };
        server.resume();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as a crash would); its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server: a stall without a disconnect.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server is running").id();
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// Starts it again on the same port.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "redis-server is already running");
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_for_port(self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|path| Path::is_file(path));
    if found.is_none() {
        skip_or_fail(
            "the Redis tests",
            "redis-server is missing",
            "apt-get install redis-server",
        );
    }
    found
}
