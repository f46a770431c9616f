//! The byte rules of the response headers the adapters touch, on plain bytes so both
//! frameworks' header maps share them.

use crate::engine::config::Config;

/// The `Vary` value that adds `token` to the response's `Vary` values, or `None` when they
/// already cover it (`*`, or the token in any case). Works on bytes, so a value that is not
/// valid text is kept as it was.
pub(crate) fn vary_adding(values: &[&[u8]], token: &str) -> Option<Vec<u8>> {
    let covered = values
        .iter()
        .flat_map(|value| value.split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii)
        .any(|existing| existing == b"*" || existing.eq_ignore_ascii_case(token.as_bytes()));
    if covered {
        return None;
    }
    let mut merged = values.join(&b", "[..]);
    if !merged.is_empty() {
        merged.extend_from_slice(b", ");
    }
    merged.extend_from_slice(token.as_bytes());
    Some(merged)
}

/// Whether the `Set-Cookie` value `value` sets `config`'s session cookie or one of its
/// chunks: what the adapters drop of a handler's own `Set-Cookie`s.
pub(crate) fn sets_session_cookie(value: &[u8], config: &Config) -> bool {
    let Some(equals) = value.iter().position(|&byte| byte == b'=') else {
        return false;
    };
    config
        .chunks
        .is_session_cookie(&config.cookie.name, &value[..equals])
}
