//! Passwords (argon2id), session tokens and CSRF tokens.
//!
//! A session token is 32 random bytes; the database keeps only its SHA-256, so a
//! leaked database does not leak sessions. The CSRF token is per session and must come
//! back with every request that changes something (form field `csrf` or header
//! `x-csrf-token`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

use crate::{CaseError, Result};

/// Failed sign-ins allowed per user name in [`THROTTLE_WINDOW_SECS`].
pub const MAX_FAILURES_PER_USER: i64 = 5;
/// Failed sign-ins allowed per client address in [`THROTTLE_WINDOW_SECS`].
pub const MAX_FAILURES_PER_CLIENT: i64 = 20;
/// The throttling window.
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| CaseError::Internal(format!("no randomness: {e}")))?;
    Ok(b)
}

/// An argon2id hash in PHC form (`$argon2id$v=19$m=19456,t=2,p=1$…`). CPU-heavy: call
/// from a blocking thread.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| CaseError::Internal(format!("salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CaseError::Internal(format!("hashing: {e}")))
}

/// Whether `password` matches the PHC `hash`. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so that the answer takes
/// as long as for a real user.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Hk2o9S5uVrBGxWbpbrYlE0x8WvKAJ5UVK3rn5H+2Ezw";

/// A fresh random token, hex.
pub fn new_token() -> Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// The SHA-256 of a token, hex: what the database stores.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two tokens in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert_ne!(h, hash_password("correct horse").unwrap(), "salts differ");
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", DUMMY_HASH));
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let a = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token().unwrap());
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &a[..63]));
        assert_eq!(token_hash("x").len(), 64);
    }
}
