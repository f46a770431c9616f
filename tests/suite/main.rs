//! The integration tests that need no process of their own, in one binary so that the
//! workspace links actix-web into a few test executables rather than one per file.
//!
//! Kept apart, each in its own binary: `allocations` (a counting global allocator),
//! `crypto_backend` (a process-wide crypto provider that must panic), `revocation`
//! (redis-server), and in the `xtests` package, whose dependencies the examples do not
//! need, the suites that drive outside tools (`interop_microdot`: Python; `browser_login`:
//! Chromium; `revocation_instances`: redis-server; `example_api_login`: the example's
//! binary), the property tests and the benches.

// Several modules include the same example file, as each example's binary does.
#![allow(clippy::duplicate_mod)]

#[path = "../common/mod.rs"]
mod common;

mod api_logins;
mod attacks;
mod chunks;
mod csrf;
mod encrypted;
mod example_api_login;
mod example_login;
mod examples;
mod hardening;
mod hygiene;
mod jwe_wire;
mod key_staging;
mod layers;
mod lifecycle;
mod login;
mod microdot_parity;
mod missing_config;
mod semantics;
mod typed_and_manual;
mod wire;
