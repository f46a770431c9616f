//! The test suites' loopback helpers, for the benches that start a redis-server.

#[allow(dead_code)]
#[path = "../../../tests/common/net.rs"]
pub mod net;
#[path = "../../../tests/common/redis_server.rs"]
pub mod redis_server;
