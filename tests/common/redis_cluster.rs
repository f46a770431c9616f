//! A throwaway Redis Cluster of three primaries (no replicas), made with
//! `redis-server --cluster-enabled yes` and `redis-cli --cluster create`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::net::skip_or_fail;
use super::redis_server::RedisServer;

pub struct Cluster {
    pub nodes: Vec<RedisServer>,
    dirs: Vec<std::path::PathBuf>,
}

impl Cluster {
    /// `None` after a loud message when `redis-server` or `redis-cli` is missing (a failure
    /// under `CI=true`).
    pub fn start() -> Option<Self> {
        if Command::new("redis-cli").arg("--version").output().is_err() {
            skip_or_fail(
                "the cluster test",
                "redis-cli is missing",
                "apt-get install redis-tools",
            );
            return None;
        }
        let mut cluster = Self {
            nodes: Vec::new(),
            dirs: Vec::new(),
        };
        for i in 0..3 {
            let dir = std::env::temp_dir()
                .join(format!("jwt-session-cluster-{}-{i}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let dir_arg = dir.display().to_string();
            cluster.dirs.push(dir);
            let args = ["--cluster-enabled", "yes", "--dir", &dir_arg];
            cluster.nodes.push(RedisServer::start_with(&args)?);
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(created.success(), "redis-cli --cluster create");
        cluster.wait_until_ok();
        Some(cluster)
    }

    /// Waits (at most 10 s) until every node reports `cluster_state:ok`.
    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for node in &self.nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port().to_string(), "CLUSTER", "INFO"])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the cluster is not ok after 10 s"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
