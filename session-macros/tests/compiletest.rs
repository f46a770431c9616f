//! Misuse of `#[with_session]` is a compile error pointing at the user's code (`ui/`), and
//! unusual handlers it accepts build and run (`pass/`).
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p jwt-session-macros --test compiletest`
//! (the toolchain is pinned in rust-toolchain.toml so they stay stable).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
