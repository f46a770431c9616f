//! The one path every token of the library takes, sessions and side tokens (a layer's
//! remember cookie) alike: verify is decode → entries → lifetimes → token id, and issue is
//! claims → encode. Making the cookie (and its size check) is the adapter's job.

use serde::Serialize;

use super::Rejection;
use super::claims::{ClaimRejection, Lifetimes, MANAGED, MANAGED_AND_ID, Times, TokenId};
use super::codec::Codec;
use super::keys::VerifiedBy;
use super::payload::Entries;
use crate::error::SessionError;

/// The rules a token is verified and issued under: the keys (in `codec`), the lifetimes,
/// and whether tokens carry an id (under a revocation store).
pub(crate) struct TokenRules<'a> {
    pub(crate) codec: &'a Codec,
    pub(crate) lifetimes: &'a Lifetimes,
    /// Take `jti`/`jti_ms` out of the entries into [`Verified::id`].
    pub(crate) with_id: bool,
    /// Longer tokens are refused before any decoding: what this config's cookies can carry.
    pub(crate) max_len: usize,
}

/// A token's verified content: its entries, its managed claims and, with ids, its id.
pub(crate) struct Verified {
    pub(crate) data: Entries,
    pub(crate) times: Times,
    pub(crate) verified_by: VerifiedBy,
    pub(crate) id: Option<TokenId>,
}

impl TokenRules<'_> {
    /// Verifies `token` at `now` (Unix seconds): signature or decryption, then the claims.
    pub(crate) fn verify(&self, token: &str, now: f64) -> Result<Verified, Rejection> {
        if token.len() > self.max_len {
            return Err(Rejection::TooLong(token.len(), self.max_len));
        }
        let (payload, verified_by) = self.codec.decode(token)?;
        // With ids, the token id's claims are read in the load pass, like the managed ones,
        // and kept out of the entries: no map is built for them.
        let hidden: &'static [&'static str] = if self.with_id {
            &MANAGED_AND_ID
        } else {
            &MANAGED
        };
        let (data, mut claims) =
            Entries::load_hiding(payload, hidden).map_err(|err| Rejection::Json("payload", err))?;
        let times = self
            .lifetimes
            .check(&claims, now)
            .map_err(Rejection::Claims)?;
        let id = if self.with_id {
            // The token id is taken out of the entries: with ids the payload is parsed.
            claims.take_token_id().map_err(|reason| {
                Rejection::Claims(ClaimRejection::Malformed { key: "jti", reason })
            })?
        } else {
            None
        };
        Ok(Verified {
            data,
            times,
            verified_by,
            id,
        })
    }

    /// Counts `verified` against the key that verified it: once per token a request
    /// carries, not for the library's own re-reads of a token.
    pub(crate) fn count(&self, verified: &Verified, now: f64) {
        self.codec.keys().record(verified.verified_by, now);
    }

    /// Signs (or encrypts) `claims` as a token.
    pub(crate) fn issue(&self, claims: &impl Serialize) -> Result<String, SessionError> {
        self.codec.encode(claims)
    }
}
