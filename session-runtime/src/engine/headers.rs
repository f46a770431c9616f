//! The byte rules of the response headers the adapters touch, on plain bytes so both
//! frameworks' header maps share them.

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

/// Whether the `Set-Cookie` value `value` sets the cookie called `name`.
pub(crate) fn sets_cookie(value: &[u8], name: &str) -> bool {
    value
        .strip_prefix(name.as_bytes())
        .is_some_and(|rest| rest.starts_with(b"="))
}
