//! A TCP proxy in front of Redis, for faults behind one endpoint: new connections go to the
//! current target while old ones stay where they were (as behind DNS or a default
//! HAProxy), and every chunk sent to Redis can be held back for a delay.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

pub struct Proxy {
    port: u16,
    target: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

impl Proxy {
    /// Listens on a free loopback port, forwarding to `target` (a port on 127.0.0.1).
    pub fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Self {
            port: listener.local_addr().unwrap().port(),
            target: Arc::new(AtomicU16::new(target)),
            delay_ms: Arc::default(),
        };
        let (target, delay) = (proxy.target.clone(), proxy.delay_ms.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let port = target.load(Ordering::SeqCst);
                if let Ok(server) = TcpStream::connect(("127.0.0.1", port)) {
                    pipe(client, server, delay.clone());
                }
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// New connections go to `port` from now on.
    pub fn point_to(&self, port: u16) {
        self.target.store(port, Ordering::SeqCst);
    }

    /// Every chunk sent to Redis from now on waits `delay` first.
    pub fn delay(&self, delay: Duration) {
        self.delay_ms
            .store(u64::try_from(delay.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

fn pipe(client: TcpStream, server: TcpStream, delay: Arc<AtomicU64>) {
    let (client_in, server_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || copy(client_in, server_out, Some(delay)));
    std::thread::spawn(move || copy(server, client, None));
}

/// Copies until either side closes, then closes both.
fn copy(mut from: TcpStream, mut to: TcpStream, delay: Option<Arc<AtomicU64>>) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(read) = from.read(&mut buffer) {
        if read == 0 {
            break;
        }
        if let Some(delay) = &delay {
            std::thread::sleep(Duration::from_millis(delay.load(Ordering::SeqCst)));
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
