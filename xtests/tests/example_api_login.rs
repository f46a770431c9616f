//! The `api_login` example's own binary, driven from outside over real HTTP as a client
//! would: the contract of its doc table (tests/suite/example_api_login.rs checks every case
//! through its routes).

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::net::{Process, example_binary, free_port, wait_for_port};
use common::redis_server::RedisServer;
use serde_json::{Value, json};

const SECRET: &str = "the api_login example's secret, 32+ bytes";

/// The example on a free port, its deny-list in memory or in `redis_url`'s Redis; its base
/// URL.
fn start(redis_url: Option<&str>) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(example_binary("api_login"));
    match redis_url {
        Some(url) => command.env("REDIS_URL", url),
        None => command.env_remove("REDIS_URL"),
    };
    let child = command
        .env("PORT", port.to_string())
        .env("SESSION_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the api_login example");
    wait_for_port(port);
    (Process(child), format!("http://127.0.0.1:{port}"))
}

/// A client with its own cookies (kept by name: the example sets them all on `/`).
struct Client {
    agent: ureq::Agent,
    base: String,
    cookies: BTreeMap<String, String>,
}

impl Client {
    fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Self {
            agent,
            base: base.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    /// The status and JSON body (`null` when empty) of `method path`, with `body` as JSON.
    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let cookie = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut res = match (method, body) {
            ("GET", _) => self.agent.get(url).header("cookie", cookie).call(),
            (_, Some(body)) => self
                .agent
                .post(url)
                .header("cookie", cookie)
                .send_json(body),
            (_, None) => self.agent.post(url).header("cookie", cookie).send_empty(),
        }
        .unwrap();
        for set_cookie in res.headers().get_all("set-cookie") {
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            match value {
                "" => self.cookies.remove(name),
                _ => self.cookies.insert(name.to_owned(), value.to_owned()),
            };
        }
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn log_in(&mut self, user: &str, password: &str, remember: bool) -> (u16, Value) {
        let body = json!({"username": user, "password": password, "remember": remember});
        self.call("POST", "/api/login", Some(body))
    }
}

#[test]
fn the_api_login_binary_keeps_its_contract() {
    let (_server, base) = start(None);
    keeps_its_contract(&base);
}

/// With `REDIS_URL`, on two instances sharing one Redis: the contract holds, and "log out
/// everywhere" on one instance ends the user's sessions on the other.
#[test]
fn the_api_login_binary_shares_logouts_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (_a, a) = start(Some(&redis.url()));
    let (_b, b) = start(Some(&redis.url()));
    keeps_its_contract(&a);
    let mut on_a = Client::new(&a);
    assert_eq!(on_a.log_in("susan", "hello", true).0, 200);
    let mut on_b = Client::new(&b);
    on_b.cookies = on_a.cookies.clone();
    assert_eq!(
        on_b.call("GET", "/api/me", None).0,
        200,
        "one login, both instances"
    );
    assert_eq!(on_b.call("POST", "/api/logout-everywhere", None).0, 204);
    // The other instance learns of it through Redis within moments.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while on_a.call("GET", "/api/me", None).0 != 401 {
        assert!(std::time::Instant::now() < deadline, "still logged in on A");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every answer of the example's doc table, on the instance at `base`.
fn keeps_its_contract(base: &str) {
    let mut client = Client::new(base);
    let login_required = (401, json!({"error": "login_required"}));
    assert_eq!(client.call("GET", "/api/me", None), login_required);
    assert_eq!(
        client.log_in("susan", "nope", false),
        (401, json!({"error": "invalid_credentials"}))
    );
    assert!(client.cookies.is_empty(), "{:?}", client.cookies);

    assert_eq!(
        client.log_in("susan", "hello", true),
        (200, json!({"user": "susan"}))
    );
    assert_eq!(
        client.cookies.keys().collect::<Vec<_>>(),
        ["_remember", "session"]
    );
    assert_eq!(
        client.call("GET", "/api/me", None),
        (200, json!({"user": "susan", "fresh": true}))
    );
    assert_eq!(
        client.call("GET", "/api/fresh", None),
        (200, json!({"user": "susan"}))
    );

    client.cookies.remove("session");
    assert_eq!(
        client.call("GET", "/api/me", None),
        (200, json!({"user": "susan", "fresh": false}))
    );
    assert_eq!(
        client.call("GET", "/api/fresh", None),
        (401, json!({"error": "fresh_login_required"}))
    );

    let mut other = Client::new(base);
    other.log_in("susan", "hello", true);
    assert_eq!(
        client.call("POST", "/api/logout-everywhere", None),
        (204, Value::Null)
    );
    assert_eq!(other.call("GET", "/api/me", None), login_required);
    assert_eq!(client.call("GET", "/api/me", None), login_required);

    client.log_in("david", "bye", false);
    let cross_site = client
        .agent
        .post(format!("{base}/api/logout"))
        .header("origin", "https://evil.example")
        .header("cookie", format!("session={}", client.cookies["session"]))
        .send_empty()
        .unwrap();
    assert_eq!(cross_site.status().as_u16(), 403);
    assert!(cross_site.headers().get("set-cookie").is_none());
    assert_eq!(
        client.call("GET", "/api/me", None),
        (200, json!({"user": "david", "fresh": true}))
    );
    assert_eq!(client.call("POST", "/api/logout", None), (204, Value::Null));
    // The session is a new, empty one; the remember cookie is gone.
    assert!(!client.cookies.contains_key("_remember"));
    assert_eq!(client.call("GET", "/api/me", None), login_required);
}
