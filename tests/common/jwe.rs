//! An independent writer of encrypted session tokens (compact JWE, `dir` + `A256GCM`), built
//! from the README's description rather than the library's code, so tests can forge tokens
//! with any header, IV, plaintext or key.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The protected header jwt-session writes without rotation.
pub const HEADER: &str = r#"{"alg":"dir","enc":"A256GCM"}"#;

/// `HKDF-SHA256(ikm = secret, salt = empty, info = "jwt-session A256GCM")`, 32 bytes.
pub fn content_key(secret: &str) -> [u8; 32] {
    let mut key = [0; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b""), secret.as_bytes())
        .expand(b"jwt-session A256GCM", &mut key)
        .unwrap();
    key
}

/// The five segments of a token: header, encrypted key, IV, ciphertext and tag, encoded.
pub fn encrypt_parts(header: &str, plaintext: &[u8], iv: &[u8], secret: &str) -> [String; 5] {
    seal(header, plaintext, iv, &content_key(secret))
}

/// [`encrypt_parts`] with any 32-byte content key.
pub fn seal(header: &str, plaintext: &[u8], iv: &[u8], key: &[u8; 32]) -> [String; 5] {
    let header = URL_SAFE_NO_PAD.encode(header);
    let cipher = Aes256Gcm::new(key.into());
    let mut buffer = plaintext.to_vec();
    // RustCrypto's GCM takes 12-byte nonces only; other lengths are forged by the caller.
    let tag = cipher
        .encrypt_in_place_detached(&nonce(iv), header.as_bytes(), &mut buffer)
        .unwrap();
    [
        header,
        String::new(),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(&buffer),
        URL_SAFE_NO_PAD.encode(tag),
    ]
}

/// A token of `plaintext` under `secret` with the protected header text `header`.
pub fn encrypt_raw(header: &str, plaintext: &[u8], secret: &str) -> String {
    let mut iv = [0; 12];
    getrandom::getrandom(&mut iv).unwrap();
    encrypt_parts(header, plaintext, &iv, secret).join(".")
}

/// A token of `claims` as jwt-session writes it for `secret`, without rotation.
pub fn encrypt(claims: &Value, secret: &str) -> String {
    encrypt_raw(HEADER, &serde_json::to_vec(claims).unwrap(), secret)
}

/// The plaintext of `token` under `secret`, or `None` when it does not decrypt.
pub fn decrypt(token: &str, secret: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, "", iv, ciphertext, tag] = parts.as_slice() else {
        return None;
    };
    let decode = |segment: &str| URL_SAFE_NO_PAD.decode(segment).ok();
    let (iv, mut buffer, tag) = (decode(iv)?, decode(ciphertext)?, decode(tag)?);
    if iv.len() != 12 || tag.len() != 16 {
        return None;
    }
    Aes256Gcm::new(&content_key(secret).into())
        .decrypt_in_place_detached(
            &nonce(&iv),
            header.as_bytes(),
            &mut buffer,
            tag.as_slice().into(),
        )
        .ok()?;
    Some(buffer)
}

fn nonce(iv: &[u8]) -> Nonce<aes_gcm::aead::consts::U12> {
    <[u8; 12]>::try_from(iv).unwrap().into()
}

/// Flips the low bit of the middle byte of segment `index` (decoded, then re-encoded).
pub fn flip_byte(token: &str, index: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = URL_SAFE_NO_PAD.decode(&parts[index]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    parts[index] = URL_SAFE_NO_PAD.encode(bytes);
    parts.join(".")
}
