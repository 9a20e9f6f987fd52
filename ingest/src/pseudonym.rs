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

/// Characters in a pseudonym: 128 bits of the HMAC in hex. Truncating an HMAC to
/// half its output keeps it a MAC (RFC 2104 §5, NIST SP 800-107 §5.3.3); 128 bits make
/// an accidental collision among 60 million persons about 1 in 10^23; and keys half as
/// long halve what every table and join carries.
pub const PSEUDONYM_LEN: usize = 32;

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

    /// The pseudonym of an identifier: HMAC-SHA-256 truncated to 128 bits, as 32 hex
    /// characters.
    pub fn pseudonym(&self, id: &str) -> String {
        self.pseudonym_in(id, &mut [0; PSEUDONYM_LEN]).to_owned()
    }

    /// The pseudonym of an identifier, written into `buf` (no allocation: the ingest
    /// computes millions).
    pub fn pseudonym_in<'b>(&self, id: &str, buf: &'b mut [u8; PSEUDONYM_LEN]) -> &'b str {
        let mut mac = self.0.clone();
        mac.update(id.as_bytes());
        let digest = mac.finalize().into_bytes();
        // 16 bytes fill the 32 characters exactly, and hex digits are ASCII: neither fails.
        let _ = hex::encode_to_slice(&digest[..PSEUDONYM_LEN / 2], buf);
        std::str::from_utf8(buf).unwrap_or_default()
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
        let full = hex::encode(fresh.finalize().into_bytes());
        assert_eq!(k.pseudonym("A"), full[..PSEUDONYM_LEN]);
        assert_ne!(k.pseudonym("A"), k.pseudonym("B"));
        assert!(PseudonymKey::new(vec![1; 8]).is_err());
        assert!(!format!("{k:?}").contains('7'));
    }
}
