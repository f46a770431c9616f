//! Applies a request's session outcome to its response: `Vary: Cookie` and at most one
//! session `Set-Cookie`.

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderMap, HeaderValue};

use crate::request::{Pending, RequestSession};

pub(crate) fn finish<B>(state: &RequestSession, mut response: HttpResponse<B>) -> HttpResponse<B> {
    add_vary_cookie(response.headers_mut());
    let pending = std::mem::replace(&mut *state.pending(), Pending::Untouched);
    if matches!(pending, Pending::Untouched) {
        return response;
    }
    // A failing request must not change the session, as in Microdot.
    if response.status().is_server_error() || response.error().is_some() {
        tracing::debug!(status = %response.status(), "dropping the session cookie of a failed response");
        return response;
    }
    let set_cookie = match pending {
        Pending::Save { set_cookie, .. } => set_cookie,
        Pending::Reissue(data) => match state.encode(&data) {
            Ok((_, set_cookie)) => set_cookie,
            Err(err) => {
                tracing::warn!("cannot re-issue the session cookie: {err}");
                return response;
            }
        },
        Pending::Delete => {
            let removal = state.session().config().removal_cookie().to_string();
            match HeaderValue::try_from(removal) {
                Ok(value) => value,
                Err(err) => {
                    tracing::error!("cannot build the session removal cookie: {err}");
                    return response;
                }
            }
        }
        Pending::Untouched => return response,
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie);
    response
}

/// Adds `Cookie` to `Vary`, merged into the existing value, because the response depends on it.
fn add_vary_cookie(headers: &mut HeaderMap) {
    let existing: Vec<&str> = headers
        .get_all(header::VARY)
        .filter_map(|value| value.to_str().ok())
        .collect();
    let already_covered = existing
        .iter()
        .flat_map(|value| value.split(','))
        .any(|token| token.trim() == "*" || token.trim().eq_ignore_ascii_case("cookie"));
    if already_covered {
        return;
    }
    let merged = if existing.is_empty() {
        HeaderValue::from_static("Cookie")
    } else {
        match HeaderValue::try_from(format!("{}, Cookie", existing.join(", "))) {
            Ok(value) => value,
            Err(_) => return,
        }
    };
    headers.insert(header::VARY, merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary_after(existing: &[&'static str]) -> Vec<String> {
        let mut headers = HeaderMap::new();
        for value in existing {
            headers.append(header::VARY, HeaderValue::from_static(value));
        }
        add_vary_cookie(&mut headers);
        headers
            .get_all(header::VARY)
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn vary_is_added_or_merged_once() {
        assert_eq!(vary_after(&[]), ["Cookie"]);
        assert_eq!(
            vary_after(&["Accept-Encoding"]),
            ["Accept-Encoding, Cookie"]
        );
        assert_eq!(
            vary_after(&["Accept", "Origin"]),
            ["Accept, Origin, Cookie"]
        );
        assert_eq!(vary_after(&["accept, COOKIE"]), ["accept, COOKIE"]);
        assert_eq!(vary_after(&["*"]), ["*"]);
    }
}
