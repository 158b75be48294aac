//! `X-Hub-Signature-256` verification: HMAC-SHA256 of the raw body, compared in constant time.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256")]
    Missing,
    /// Not `sha256=` followed by 64 hex digits.
    #[error("malformed X-Hub-Signature-256")]
    Malformed,
    /// Well-formed, but no configured secret produces it.
    #[error("X-Hub-Signature-256 does not match")]
    Mismatch,
}

/// Checks `header` against every configured secret (several during a rotation).
pub fn verify_signature(
    secrets: &[SecretString],
    body: &[u8],
    header: Option<&[u8]>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .strip_prefix(b"sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    // Every secret is tried, so timing does not reveal which one (if any) matched.
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            continue;
        };
        mac.update(body);
        // `verify_slice` compares in constant time.
        matched |= mac.verify_slice(&expected).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value GitHub would send for `body` signed with `secret` (tests, load generator).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    /// GitHub's documented example ("Validating webhook deliveries").
    #[test]
    fn github_documented_test_vector_verifies() {
        let header = b"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let secret = secrets(&["It's a Secret to Everybody"]);
        assert_eq!(
            verify_signature(&secret, b"Hello, World!", Some(header)),
            Ok(())
        );
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!").as_bytes(),
            header
        );
        assert_eq!(
            verify_signature(&secret, b"Hello, World?", Some(header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_configured_secret_verifies_during_rotation() {
        let body = br#"{"zen":"Design for failure."}"#;
        let both = secrets(&["old-secret", "new-secret"]);
        for secret in ["old-secret", "new-secret"] {
            let header = sign(secret, body);
            assert_eq!(
                verify_signature(&both, body, Some(header.as_bytes())),
                Ok(())
            );
        }
        let header = sign("retired", body);
        assert_eq!(
            verify_signature(&both, body, Some(header.as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let s = secrets(&["s"]);
        assert_eq!(
            verify_signature(&s, b"x", None),
            Err(SignatureError::Missing)
        );
        for bad in [
            &b"sha1=abcd"[..],
            b"sha256=zz",
            b"sha256=abcd",
            b"",
            b"sha256=",
        ] {
            assert_eq!(
                verify_signature(&s, b"x", Some(bad)),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
        // Upper-case hex is still the same digest.
        let upper = sign("s", b"x").to_uppercase().replace("SHA256=", "sha256=");
        assert_eq!(verify_signature(&s, b"x", Some(upper.as_bytes())), Ok(()));
        // No secrets configured: nothing verifies.
        assert_eq!(
            verify_signature(&[], b"x", Some(sign("s", b"x").as_bytes())),
            Err(SignatureError::Mismatch)
        );
    }
}
