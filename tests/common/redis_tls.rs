//! Certificates for a TLS `redis-server`, made with the `openssl` command in a temporary
//! directory: a CA, a server certificate it signs for 127.0.0.1, and one signed by another
//! CA (which nothing trusts).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::net::skip_or_fail;

pub struct Certs {
    dir: PathBuf,
}

impl Certs {
    /// `None` after a loud message when `openssl` is missing (a failure under `CI=true`).
    pub fn make() -> Option<Self> {
        if Command::new("openssl").arg("version").output().is_err() {
            skip_or_fail(
                "the TLS test",
                "openssl is missing",
                "apt-get install openssl",
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!("jwt-session-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        let certs = Self { dir };
        for ca in ["ca", "other-ca"] {
            certs.run(
                certs
                    .openssl(&["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                    .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
                    .args(["-subj", &format!("/CN=jwt-session test {ca}")])
                    .args([
                        "-keyout",
                        &format!("{ca}.key"),
                        "-out",
                        &format!("{ca}.crt"),
                    ]),
            );
        }
        for (server, ca) in [("server", "ca"), ("untrusted", "other-ca")] {
            certs.run(
                certs
                    .openssl(&["req", "-newkey", "ec", "-pkeyopt"])
                    .args([
                        "ec_paramgen_curve:prime256v1",
                        "-nodes",
                        "-subj",
                        "/CN=127.0.0.1",
                    ])
                    .args([
                        "-keyout",
                        &format!("{server}.key"),
                        "-out",
                        &format!("{server}.csr"),
                    ]),
            );
            certs.run(
                certs
                    .openssl(&["x509", "-req", "-days", "1", "-extfile", "san.ext"])
                    .args(["-in", &format!("{server}.csr"), "-CA", &format!("{ca}.crt")])
                    .args(["-CAkey", &format!("{ca}.key"), "-CAcreateserial"])
                    .args(["-out", &format!("{server}.crt")]),
            );
        }
        Some(certs)
    }

    fn openssl(&self, args: &[&str]) -> Command {
        let mut command = Command::new("openssl");
        command
            .args(args)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn run(&self, command: &mut Command) {
        assert!(command.status().unwrap().success(), "{command:?}");
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The `redis-server` arguments of a TLS port serving `server`'s certificate.
    pub fn server_args(&self, tls_port: u16, server: &str) -> Vec<String> {
        let port = tls_port.to_string();
        ["--tls-port", &port, "--tls-auth-clients", "no"]
            .into_iter()
            .map(str::to_owned)
            .chain([
                "--tls-cert-file".into(),
                self.path(&format!("{server}.crt")),
            ])
            .chain(["--tls-key-file".into(), self.path(&format!("{server}.key"))])
            .chain(["--tls-ca-cert-file".into(), self.path("ca.crt")])
            .collect()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
