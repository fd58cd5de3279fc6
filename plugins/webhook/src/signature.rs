//! `sha256=<hex>` HMAC-SHA256 signatures of a raw request body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a signature was refused. The messages never reveal the expected
/// value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Malformed,
    Mismatch,
}

/// Checks `header` (e.g. `sha256=6f1e...`) against the HMAC-SHA256 of `body`
/// under `secret`, comparing in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Refusal> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(Refusal::Missing)?;
    let (algorithm, digest) = header.split_once('=').ok_or(Refusal::Malformed)?;
    if !algorithm.eq_ignore_ascii_case("sha256") || digest.len() != 64 {
        return Err(Refusal::Malformed);
    }
    let given = hex::decode(digest).map_err(|_| Refusal::Malformed)?;
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Err(Refusal::Mismatch);
    };
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| Refusal::Mismatch)
}

/// The header value a sender computes: `sha256=<hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's documented example: secret "It's a Secret to Everybody",
    // payload "Hello, World!".
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn accepts_githubs_documented_example() {
        assert_eq!(sign(SECRET, BODY), SIGNATURE);
        assert_eq!(verify(SECRET, BODY, Some(SIGNATURE)), Ok(()));
        assert_eq!(
            verify(SECRET, BODY, Some(&SIGNATURE.to_uppercase())),
            Ok(())
        );
    }

    #[test]
    fn refuses_missing_malformed_and_wrong_signatures() {
        assert_eq!(verify(SECRET, BODY, None), Err(Refusal::Missing));
        assert_eq!(verify(SECRET, BODY, Some("  ")), Err(Refusal::Missing));
        assert_eq!(
            verify(
                SECRET,
                BODY,
                Some("sha1=757107ea0eb2509fc211221cce984b8a37570b6d")
            ),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            verify(SECRET, BODY, Some("sha256=zz")),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            verify(SECRET, BODY, Some(&SIGNATURE.replace("e17", "e18"))),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(SECRET, b"Hello, World?", Some(SIGNATURE)),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", BODY, Some(SIGNATURE)),
            Err(Refusal::Mismatch)
        );
    }
}
