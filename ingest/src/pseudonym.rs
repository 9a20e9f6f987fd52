//! Pseudonymisation: persons and households are keyed by an HMAC-SHA-256 of their
//! identifier with a secret that never enters the warehouse.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret key of the keyed hash, kept as the HMAC state after the key (so each
/// pseudonym costs two SHA-256 blocks, not four). Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct PseudonymKey(Hmac<Sha256>);

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<secret>)")
    }
}

/// The key is too short to be a secret.
#[derive(Debug, thiserror::Error)]
#[error("the pseudonymisation key must be at least 16 bytes, got {0}")]
pub struct ShortKey(pub usize);

impl PseudonymKey {
    /// Wraps a secret of at least 16 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, ShortKey> {
        if bytes.len() < 16 {
            return Err(ShortKey(bytes.len()));
        }
        // HMAC accepts keys of any length, so this cannot fail.
        match <Hmac<Sha256> as Mac>::new_from_slice(&bytes) {
            Ok(mac) => Ok(Self(mac)),
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// The pseudonym of an identifier: 64 hex characters.
    pub fn pseudonym(&self, id: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc4231_case_2() {
        // RFC 4231 test case 2 uses a 4-byte key; test the primitive directly.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let k = PseudonymKey::new(vec![7; 32]).unwrap();
        assert_eq!(k.pseudonym("A"), k.pseudonym("A"));
        // The same as a fresh HMAC with the key.
        let mut fresh = <Hmac<Sha256> as Mac>::new_from_slice(&[7; 32]).unwrap();
        fresh.update(b"A");
        assert_eq!(k.pseudonym("A"), hex::encode(fresh.finalize().into_bytes()));
        assert_ne!(k.pseudonym("A"), k.pseudonym("B"));
        assert!(PseudonymKey::new(vec![1; 8]).is_err());
        assert!(!format!("{k:?}").contains('7'));
    }
}
