//! What one request decided for one config, in two parts: the cookie decision (what the
//! response's `Set-Cookie` becomes) and the revocation ledger (which token ids the request
//! owes the store before its response leaves).

use std::time::Duration;

use serde_json::{Map, Value};

use crate::engine::chunks::SetCookies;
use crate::token::claims::TokenId;
use crate::token::payload::Entries;

/// What the response must do with the session cookie. The last `save()`/`delete()` wins.
pub(crate) enum Pending {
    Untouched,
    /// Re-sign the loaded session: it was signed with a previous key (`refresh: false`,
    /// which keeps every time claim), or its idle window is half gone (`refresh: true`).
    /// Either way the token id is kept. Any `save()`/`delete()` replaces this.
    Reissue {
        data: Entries,
        refresh: bool,
    },
    Save {
        set_cookies: SetCookies,
    },
    Delete,
}

/// What a request wrote of the session so far.
pub(crate) enum Written {
    Nothing,
    Token(String),
    Deleted,
}

/// The cookie decision of one config in one request.
pub(crate) struct CookieDecision {
    pub(crate) pending: Pending,
    /// Set by any `save()`, `delete()` or autosave in this request and never reset, so a
    /// later autosave (a middleware's session dropped after the handler answered) cannot
    /// override what was decided.
    pub(crate) decided: bool,
    /// Set by `renew()` and `delete()`: the next save starts a new session, with a fresh
    /// absolute-timeout clock and, under a revocation store, a fresh token id.
    pub(crate) renewed: bool,
    /// The token id minted for this request's saves once renewed: one per request, however
    /// many saves.
    pub(crate) fresh_id: Option<TokenId>,
    /// The whole session a layer offered on the app's behalf (a login restored from a side
    /// token), and the entries of it the layer added, which any save that does not start a
    /// new session keeps.
    pub(crate) offered: Option<(Map<String, Value>, Map<String, Value>)>,
    /// What this request last wrote, kept after the response took its pending change, so
    /// that a later load or partial save builds on it and not on the request's cookie.
    pub(crate) written: Written,
    /// Bumped by every `renew()` and `delete()`: a handle loaded before can no longer save,
    /// since what it holds belongs to the session that was replaced (a logout, a login).
    pub(crate) generation: u64,
}

impl CookieDecision {
    pub(crate) fn new(pending: Pending) -> Self {
        Self {
            pending,
            decided: false,
            renewed: false,
            fresh_id: None,
            offered: None,
            written: Written::Nothing,
            generation: 0,
        }
    }

    /// `renew()` or `delete()`: the next save starts a new session, with a new token id.
    pub(crate) fn replace_session(&mut self) -> u64 {
        self.renewed = true;
        // An id minted for an offer (a restored login) belongs to the replaced session.
        self.fresh_id = None;
        self.generation += 1;
        self.generation
    }

    /// Whether the response replaces the request's token (a delete, or a renewed save), so
    /// that token must be revoked.
    pub(crate) fn replaces_loaded(&self) -> bool {
        match self.pending {
            Pending::Delete => true,
            Pending::Save { .. } => self.renewed,
            Pending::Untouched | Pending::Reissue { .. } => false,
        }
    }
}

/// The token ids one request owes the revocation store.
#[derive(Default)]
pub(crate) struct RevocationLedger {
    /// The request's token was already sent to the revocation store.
    pub(crate) revoked_loaded: bool,
    /// The id of the request's token when the store could not judge it (down): the
    /// session reads as empty, but a logout must still revoke the token.
    pub(crate) unchecked_id: Option<TokenId>,
    /// Ids of other tokens this request retired (a layer's side token), each with how long
    /// it must stay denied, not yet sent to the store.
    pub(crate) retired: Vec<(String, Duration)>,
}

impl RevocationLedger {
    /// The ids owed now: the retired ones, and `loaded` (the request's token, or the one the
    /// store could not judge) once `replaced`, at most once per request. Marks them sent.
    pub(crate) fn take(
        &mut self,
        loaded: Option<&TokenId>,
        replaced: bool,
        ttl: Duration,
    ) -> Vec<(String, Duration)> {
        let mut owed = std::mem::take(&mut self.retired);
        let loaded = loaded.or(self.unchecked_id.as_ref());
        if let Some(jti) = loaded.filter(|_| replaced).map(|id| id.jti.clone())
            && !std::mem::replace(&mut self.revoked_loaded, true)
        {
            owed.push((jti, ttl));
        }
        owed
    }

    /// Puts back what could not be written, so a later settle writes it.
    pub(crate) fn restore(&mut self, loaded_jti: Option<&str>, unsent: Vec<(String, Duration)>) {
        for (jti, ttl) in unsent {
            if loaded_jti == Some(jti.as_str()) {
                self.revoked_loaded = false;
            } else {
                self.retired.push((jti, ttl));
            }
        }
    }
}
