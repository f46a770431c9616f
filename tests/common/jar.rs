//! The tests' cookie jar is the public one, so every test that walks a browser through the
//! app also exercises `jwt_session::test::CookieJar`.

#[allow(unused_imports)] // some test binaries include `common` without using the jar
pub use jwt_session::test::CookieJar as Jar;
