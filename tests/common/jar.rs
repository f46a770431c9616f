//! The tests' cookie jar is the public one, so every test that walks a browser through the
//! app also exercises `jwt_session::test::CookieJar`.

pub use jwt_session::test::CookieJar as Jar;
