//! Content digests: how every blob, manifest and component is addressed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A sha256 content digest, written `sha256:<64 lowercase hex>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(bytes).into())
    }
    /// The 64 hex characters, without the algorithm.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
    /// A short form for people: the first 12 hex characters.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }
    /// Fails with a message naming `what` unless `bytes` hash to `self`.
    pub fn verify(&self, bytes: &[u8], what: &str) -> crate::Result<()> {
        let actual = Digest::of(bytes);
        if actual != *self {
            return Err(crate::RegistryError::refused(format!(
                "{what}: content does not match its digest (expected {self}, got {actual}); \
                 the registry served modified content. Nothing was installed."
            )));
        }
        Ok(())
    }
}

impl std::str::FromStr for Digest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hex_part = s
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("digest {s:?} must start with `sha256:`"))?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(format!(
                "digest {s:?} must be `sha256:` and 64 lowercase hex digits"
            ));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|e| format!("digest {s:?}: {e}"))?;
        Ok(Self(out))
    }
}

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_and_reject_malformed_text() {
        let d = Digest::of(b"gyre");
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
        assert!("sha512:00".parse::<Digest>().is_err());
        assert!(
            format!("sha256:{}", "A".repeat(64))
                .parse::<Digest>()
                .is_err()
        );
        assert!("sha256:abc".parse::<Digest>().is_err());
    }

    #[test]
    fn verify_names_what_was_modified() {
        let d = Digest::of(b"original");
        assert!(d.verify(b"original", "layer").is_ok());
        let err = d
            .verify(b"modified", "layer tests-green.wasm")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer tests-green.wasm") && err.contains("does not match"),
            "{err}"
        );
    }
}
