//! The keys of a `Session`: asymmetric and verify-only configs, the HMAC algorithm, the
//! previous and next keys of a staged rotation, and what each key verified.

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

use crate::engine::config::Session;
use crate::error::SessionError;
use crate::token::keys::{KeyRing, KeyRole, KeyUsage};

impl Session {
    /// A config that signs with `encoding_key` and verifies with `decoding_key` using an
    /// asymmetric algorithm: `EdDSA`, `ES256`/`ES384`, `RS256`/`RS384`/`RS512` or `PS*`.
    ///
    /// The algorithm is pinned: tokens naming any other are rejected, which closes the
    /// RS256-public-key-as-HS256-secret confusion. See [`Session::from_pem`] for PEM files.
    ///
    /// # Errors
    ///
    /// [`SessionError::KeyMismatch`] when a key does not fit `algorithm`, or `algorithm` is
    /// an HMAC one (use [`Session::new`] and [`Session::algorithm`] for those).
    ///
    /// ```
    /// use jwt_session::{Session, keys::{Algorithm, DecodingKey, EncodingKey}};
    ///
    /// let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIETxOo5fE3eYIQvc2rvYTdA3f8h7rLKBpYJ3SF+hdZNZ\n-----END PRIVATE KEY-----\n";
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let session = Session::from_keys(
    ///     EncodingKey::from_ed_pem(private.as_bytes())?,
    ///     DecodingKey::from_ed_pem(public.as_bytes())?,
    ///     Algorithm::EdDSA,
    /// )?;
    /// # drop(session);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_keys(
        encoding_key: EncodingKey,
        decoding_key: DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Self, SessionError> {
        Ok(Self::with_keys(KeyRing::asymmetric(
            Some(encoding_key),
            decoding_key,
            algorithm,
        )?))
    }

    /// A config for a service that reads sessions but never issues them: it holds only the
    /// public key. [`SessionDict::save`](crate::SessionDict::save) returns
    /// [`SessionError::ReadOnly`]; [`SessionDict::delete`](crate::SessionDict::delete) still
    /// clears the cookie.
    ///
    /// # Errors
    ///
    /// As [`Session::from_keys`].
    ///
    /// ```
    /// use jwt_session::{Session, keys::{Algorithm, DecodingKey}};
    ///
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let reader = Session::verify_only(DecodingKey::from_ed_pem(public.as_bytes())?, Algorithm::EdDSA)?;
    /// # drop(reader);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_only(
        decoding_key: DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Self, SessionError> {
        Ok(Self::with_keys(KeyRing::asymmetric(
            None,
            decoding_key,
            algorithm,
        )?))
    }

    /// [`Session::from_keys`] from PEM text: a PKCS#8 private key and the matching public
    /// key (SPKI, or PKCS#1 for RSA).
    ///
    /// # Errors
    ///
    /// [`SessionError::KeyMismatch`] when a PEM cannot be read as a key of `algorithm`'s family.
    ///
    /// ```
    /// use jwt_session::{Session, keys::Algorithm};
    ///
    /// let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIETxOo5fE3eYIQvc2rvYTdA3f8h7rLKBpYJ3SF+hdZNZ\n-----END PRIVATE KEY-----\n";
    /// let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let issuer = Session::from_pem(Algorithm::EdDSA, private, public)?;
    /// let reader = Session::verify_only_pem(Algorithm::EdDSA, public)?;
    /// # drop((issuer, reader));
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    pub fn from_pem(
        algorithm: Algorithm,
        private_pem: impl AsRef<[u8]>,
        public_pem: impl AsRef<[u8]>,
    ) -> Result<Self, SessionError> {
        let encoding_key = match algorithm.family() {
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(private_pem.as_ref()),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(private_pem.as_ref()),
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(private_pem.as_ref()),
            AlgorithmFamily::Hmac => return Err(SessionError::KeyMismatch(HMAC_HAS_NO_PEM)),
        }
        .map_err(|_| {
            SessionError::KeyMismatch("the private key PEM is not a key of this algorithm's family")
        })?;
        Self::from_keys(
            encoding_key,
            public_key_from_pem(algorithm, public_pem.as_ref())?,
            algorithm,
        )
    }

    /// [`Session::verify_only`] from a public key in PEM.
    ///
    /// # Errors
    ///
    /// As [`Session::from_pem`].
    ///
    /// ```
    /// # let public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// let reader = jwt_session::Session::verify_only_pem(jwt_session::keys::Algorithm::EdDSA, public)?;
    /// # drop(reader);
    /// # Ok::<(), jwt_session::SessionError>(())
    /// ```
    pub fn verify_only_pem(
        algorithm: Algorithm,
        public_pem: impl AsRef<[u8]>,
    ) -> Result<Self, SessionError> {
        Self::verify_only(
            public_key_from_pem(algorithm, public_pem.as_ref())?,
            algorithm,
        )
    }

    /// Selects the HMAC algorithm: `HS256` (the default, and Microdot's), `HS384` or `HS512`.
    ///
    /// # Panics
    ///
    /// For a non-HMAC algorithm, on a config built from asymmetric keys, when a secret is
    /// shorter than the algorithm needs (RFC 7518 §3.2: 48 bytes for HS384, 64 for HS512),
    /// or for HS384 and HS512 on an [encrypted](Session::encrypted) config.
    ///
    /// ```
    /// use jwt_session::{Session, keys::Algorithm};
    ///
    /// let session = Session::new([7u8; 64]).algorithm(Algorithm::HS512);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn algorithm(self, algorithm: Algorithm) -> Self {
        let codec = self.config().codec.keys().with_hmac_algorithm(algorithm);
        let codec = codec.and_then(|keys| self.config().codec.rekeyed(keys));
        let codec = codec.unwrap_or_else(|err| panic!("Session::algorithm: {err}"));
        self.with(|config| config.codec = codec)
    }

    /// Accepts sessions signed with earlier secrets, for rotating the secret without
    /// logging anyone out. A request bearing such a session gets it back re-signed with the
    /// current secret. While previous (or [next](Session::next_secrets)) secrets are
    /// configured, new tokens carry a `kid` header (an HMAC of a fixed label, useless for
    /// recovering the secret), so each token costs one signature check; tokens without one
    /// (Microdot's) are tried against each key. A secret already configured keeps its role.
    ///
    /// # Panics
    ///
    /// If a secret is shorter than the algorithm needs (32 bytes for HS256, 48 for HS384,
    /// 64 for HS512), or on a config built from asymmetric keys. Use
    /// [`Session::try_previous_secrets`] to handle that case yourself.
    ///
    /// ```
    /// let session = jwt_session::Session::new("the new secret, 32 bytes or longer!")
    ///     .previous_secrets(["the old secret, 32 bytes or longer!"]);
    /// # drop(session);
    /// ```
    #[must_use]
    pub fn previous_secrets<S: AsRef<[u8]>>(self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.try_previous_secrets(secrets)
            .unwrap_or_else(|err| panic!("Session::previous_secrets: {err}"))
    }

    /// Like [`Session::previous_secrets`], but returns the error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`SessionError::SecretTooShort`], and [`SessionError::KeyMismatch`] on a config built
    /// from asymmetric keys.
    ///
    /// ```
    /// use jwt_session::{Session, SessionError};
    ///
    /// let session = Session::new("the new secret, 32 bytes or longer!");
    /// let err = session.try_previous_secrets(["too short"]).unwrap_err();
    /// assert!(matches!(err, SessionError::SecretTooShort { len: 9, min: 32, .. }));
    /// ```
    pub fn try_previous_secrets<S: AsRef<[u8]>>(
        self,
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, SessionError> {
        self.with_keys_added(secrets, |keys, secret| {
            keys.add_secret(KeyRole::Previous, secret.as_ref())
        })
    }

    /// Accepts sessions signed with secrets this config does not sign with yet: the first
    /// step of rotating a fleet's secret, deployed before any instance signs with the new
    /// one. A next secret only verifies; it never signs or encrypts, on any path (save,
    /// idle re-issue, rotation re-sign, `renew`, login, remember cookie).
    ///
    /// A session verified by a next secret is not re-signed with the current one: it
    /// already carries the secret the fleet is moving to, and re-signing it would move it
    /// back and make it bounce between instances mid-rollout. When the request re-issues it
    /// anyway (a save, an idle refresh), the current secret signs, as always. Tokens carry a
    /// `kid` as with [`previous_secrets`](Session::previous_secrets), so an instance built
    /// as `Session::new(old).next_secrets([new])` and one built as
    /// `Session::new(new).previous_secrets([old])` accept each other's sessions.
    /// `docs/key-rotation.md` walks the three steps, with [`Session::key_usage`] as the
    /// signal to retire the old secret.
    ///
    /// # Panics
    ///
    /// As [`Session::previous_secrets`]; [`Session::try_next_secrets`] returns the error.
    ///
    /// ```
    /// use jwt_session::Session;
    /// use jwt_session::keys::KeyRole;
    ///
    /// // Step 1, on every instance: the old secret still signs, the new one verifies.
    /// let step_one = Session::new("the old secret, 32 bytes or longer!")
    ///     .next_secrets(["the new secret, 32 bytes or longer!"]);
    /// // Step 2, on every instance: the new secret signs, the old one verifies.
    /// let step_two = Session::new("the new secret, 32 bytes or longer!")
    ///     .previous_secrets(["the old secret, 32 bytes or longer!"]);
    /// assert_eq!(step_one.key_usage()[1].role, KeyRole::Next);
    /// assert_eq!(step_one.key_usage()[1].kid, step_two.key_usage()[0].kid);
    /// ```
    #[must_use]
    pub fn next_secrets<S: AsRef<[u8]>>(self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.try_next_secrets(secrets)
            .unwrap_or_else(|err| panic!("Session::next_secrets: {err}"))
    }

    /// Like [`Session::next_secrets`], but returns the error instead of panicking.
    ///
    /// # Errors
    ///
    /// As [`Session::try_previous_secrets`].
    ///
    /// ```
    /// let secret = std::env::var("NEXT_SESSION_SECRET").unwrap_or_default();
    /// let session = jwt_session::Session::new("the old secret, 32 bytes or longer!");
    /// match session.try_next_secrets([secret]) {
    ///     Ok(session) => drop(session),
    ///     Err(err) => eprintln!("cannot start: {err}"),
    /// }
    /// ```
    pub fn try_next_secrets<S: AsRef<[u8]>>(
        self,
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, SessionError> {
        self.with_keys_added(secrets, |keys, secret| {
            keys.add_secret(KeyRole::Next, secret.as_ref())
        })
    }

    /// Accepts tokens signed with earlier key pairs, given their public keys, on a config
    /// built from asymmetric keys ([`Session::from_keys`], [`Session::verify_only`] and their
    /// PEM forms): the asymmetric [`previous_secrets`](Session::previous_secrets). An issuing
    /// config re-signs a session verified by one with its own key.
    ///
    /// # Errors
    ///
    /// [`SessionError::KeyMismatch`] for a key that does not fit the config's algorithm, or
    /// an HMAC config.
    ///
    /// ```
    /// use jwt_session::{Session, keys::{Algorithm, DecodingKey}};
    ///
    /// # let old_public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// # let new_public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEACLDdoFaD9SJQfnl9xIMC9OQowTrMOG8cfmQKUpI8zi0=\n-----END PUBLIC KEY-----\n";
    /// let reader = Session::verify_only_pem(Algorithm::EdDSA, new_public)?
    ///     .previous_public_keys([DecodingKey::from_ed_pem(old_public.as_bytes())?])?;
    /// # drop(reader);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn previous_public_keys(
        self,
        keys: impl IntoIterator<Item = DecodingKey>,
    ) -> Result<Self, SessionError> {
        self.with_keys_added(keys, |ring, key| {
            ring.add_public_key(KeyRole::Previous, key)
        })
    }

    /// Accepts tokens signed with key pairs that the issuers do not sign with yet, given
    /// their public keys: the asymmetric [`next_secrets`](Session::next_secrets), for the
    /// verify-only services of a fleet (and the issuers) before the issuers switch keys.
    /// A next key is a public key, so it can never sign.
    ///
    /// # Errors
    ///
    /// As [`Session::previous_public_keys`].
    ///
    /// ```
    /// use jwt_session::{Session, keys::{Algorithm, DecodingKey, KeyRole}};
    ///
    /// # let old_public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA5pVUfnZRuxlxeG4tYoqSoLN/5nBmpASDPBIB0J2bqF8=\n-----END PUBLIC KEY-----\n";
    /// # let new_public = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEACLDdoFaD9SJQfnl9xIMC9OQowTrMOG8cfmQKUpI8zi0=\n-----END PUBLIC KEY-----\n";
    /// let reader = Session::verify_only_pem(Algorithm::EdDSA, old_public)?
    ///     .next_public_keys([DecodingKey::from_ed_pem(new_public.as_bytes())?])?;
    /// assert_eq!(reader.key_usage()[1].role, KeyRole::Next);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_public_keys(
        self,
        keys: impl IntoIterator<Item = DecodingKey>,
    ) -> Result<Self, SessionError> {
        self.with_keys_added(keys, |ring, key| ring.add_public_key(KeyRole::Next, key))
    }

    /// How much each key has been used since this config was built, current key first: the
    /// signal that a previous key can be retired (see `docs/key-rotation.md`).
    ///
    /// A key's count goes up once for each token a request carries that it verified with
    /// valid lifetimes: the session cookie, and the login layer's remember cookie, which
    /// is signed with the same keys. The count is taken before the revocation store is
    /// asked, so a revoked token still counts; an expired or forged one never does. The
    /// library's own re-reads of a token do not count. Counts are kept per config, shared
    /// by its clones (so by every worker), and start afresh in a config derived from it by
    /// a builder call; they are not persisted across restarts.
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, test, web};
    /// use jwt_session::{Session, SessionDict, SessionError, with_session};
    ///
    /// #[with_session]
    /// async fn visit(session: SessionDict) -> HttpResponse {
    ///     HttpResponse::Ok().body(session.len().to_string())
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let old = Session::new("the old secret, 32 bytes or longer!");
    /// let cookie = old.test_cookie(&serde_json::json!({"user": "ann"}))?;
    /// let session = Session::new("the new secret, 32 bytes or longer!")
    ///     .previous_secrets(["the old secret, 32 bytes or longer!"]);
    /// let app = test::init_service(App::new().app_data(session.clone()).route("/", web::get().to(visit))).await;
    /// test::call_service(&app, test::TestRequest::get().cookie(cookie).to_request()).await;
    /// let usage = session.key_usage();
    /// assert_eq!((usage[0].verified, usage[1].verified), (0, 1));
    /// assert!(usage[1].last_verified.is_some());
    /// # Ok::<(), SessionError>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn key_usage(&self) -> Vec<KeyUsage> {
        self.config().codec.keys().usage()
    }

    /// This config with `items` added to its key ring by `add`.
    fn with_keys_added<T>(
        self,
        items: impl IntoIterator<Item = T>,
        add: impl Fn(&mut KeyRing, T) -> Result<(), SessionError>,
    ) -> Result<Self, SessionError> {
        let mut keys = self.config().codec.keys().clone();
        for item in items {
            add(&mut keys, item)?;
        }
        let codec = self.config().codec.rekeyed(keys)?;
        Ok(self.with(|config| config.codec = codec))
    }
}

const HMAC_HAS_NO_PEM: &str = "HMAC algorithms take a secret, not a PEM: use Session::new(secret)";

fn public_key_from_pem(algorithm: Algorithm, pem: &[u8]) -> Result<DecodingKey, SessionError> {
    match algorithm.family() {
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Hmac => return Err(SessionError::KeyMismatch(HMAC_HAS_NO_PEM)),
    }
    .map_err(|_| {
        SessionError::KeyMismatch("the public key PEM is not a key of this algorithm's family")
    })
}
