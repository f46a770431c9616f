//! How a [`SessionError`] becomes a 500, for every adapter: the whole chain in the log, a
//! misconfiguration also on stderr (once per kind, when no `tracing` subscriber would show
//! it), and in debug builds a body that names the fix; other bodies stay bare.

use std::sync::atomic::{AtomicU16, Ordering};

use tracing::subscriber::NoSubscriber;

use crate::error::SessionError;

/// Logs `err` and returns the body of its 500: `Some` only for a misconfiguration in a
/// debug build.
pub(crate) fn error_body(err: &SessionError) -> Option<String> {
    let report = err.report();
    tracing::error!("{report}");
    let kind = Misconfiguration::of(err)?;
    if should_print(&PRINTED, kind, subscriber_installed()) {
        eprintln!("jwt-session: error: {report}");
    }
    debug_body(err, cfg!(debug_assertions))
}

/// The errors that mean the app is set up wrong, not that a request went wrong: each one's
/// message names the fix. One bit each, for [`PRINTED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
enum Misconfiguration {
    MissingConfig = 1,
    AmbiguousConfig = 1 << 1,
    MissingAppData = 1 << 2,
    RevocationNeedsLifetime = 1 << 3,
    NoRevocationStore = 1 << 4,
    NeedsAsyncLoad = 1 << 5,
    ReadOnly = 1 << 6,
    CookieRule = 1 << 7,
    MissingLayer = 1 << 8,
}

impl Misconfiguration {
    fn of(err: &SessionError) -> Option<Self> {
        Some(match err {
            SessionError::MissingConfig => Self::MissingConfig,
            SessionError::AmbiguousConfig { .. } => Self::AmbiguousConfig,
            SessionError::MissingAppData { .. } => Self::MissingAppData,
            SessionError::RevocationNeedsLifetime => Self::RevocationNeedsLifetime,
            SessionError::NoRevocationStore => Self::NoRevocationStore,
            SessionError::NeedsAsyncLoad => Self::NeedsAsyncLoad,
            SessionError::ReadOnly => Self::ReadOnly,
            SessionError::CookieRule { .. } => Self::CookieRule,
            SessionError::MissingLayer => Self::MissingLayer,
            _ => return None,
        })
    }
}

/// The kinds of misconfiguration already printed to stderr by this process.
static PRINTED: AtomicU16 = AtomicU16::new(0);

/// Whether `kind` goes to stderr: only when no subscriber would show the log line (the
/// quick start of many apps installs none, and a 500 with no trace is a dead end), and only
/// the first time, so a broken app does not flood its terminal.
fn should_print(printed: &AtomicU16, kind: Misconfiguration, subscribed: bool) -> bool {
    let bit = kind as u16;
    !subscribed && printed.fetch_or(bit, Ordering::Relaxed) & bit == 0
}

/// Whether a `tracing` subscriber, global or scoped to this thread, receives events.
fn subscriber_installed() -> bool {
    tracing::dispatcher::get_default(|dispatch| !dispatch.is::<NoSubscriber>())
}

/// The body of a misconfiguration's 500: the message, which names the fix, in debug builds
/// only, since a release body must not tell an attacker how the app is built.
fn debug_body(err: &SessionError, debug: bool) -> Option<String> {
    debug.then(|| {
        format!(
            "500 Internal Server Error: {err}\n\n(jwt-session explains this in debug builds only.)\n"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_misconfiguration_is_printed_once_and_only_without_a_subscriber() {
        let printed = AtomicU16::new(0);
        let missing = Misconfiguration::MissingConfig;
        let login = Misconfiguration::MissingAppData;
        assert!(!should_print(&printed, missing, true), "the log shows it");
        assert!(should_print(&printed, missing, false));
        assert!(!should_print(&printed, missing, false), "once per kind");
        assert!(should_print(&printed, login, false), "another kind prints");
        assert!(!should_print(&printed, login, false));
        assert!(should_print(
            &printed,
            Misconfiguration::RevocationNeedsLifetime,
            false
        ));
        assert!(should_print(
            &printed,
            Misconfiguration::AmbiguousConfig,
            false
        ));
        assert!(should_print(
            &printed,
            Misconfiguration::MissingLayer,
            false
        ));
    }

    #[test]
    fn only_misconfigurations_count_and_only_debug_bodies_explain() {
        let err = SessionError::MissingConfig;
        assert_eq!(
            Misconfiguration::of(&err),
            Some(Misconfiguration::MissingConfig)
        );
        let body = debug_body(&err, true).unwrap();
        assert!(body.contains(".app_data(Session::new(secret))"), "{body}");
        assert_eq!(debug_body(&err, false), None, "release bodies stay bare");
        let layer = debug_body(&SessionError::MissingLayer, true).unwrap();
        assert!(layer.contains("SessionLayer::new(session)"), "{layer}");
        let not_config = SessionError::TooLarge {
            size: 5000,
            limit: 4096,
        };
        assert_eq!(Misconfiguration::of(&not_config), None);
        assert!(!subscriber_installed(), "these unit tests install none");
    }
}
