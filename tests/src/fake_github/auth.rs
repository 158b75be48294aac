//! How the fake GitHub checks credentials: App JWTs (RS256 by the test key) and installation tokens.

use std::sync::OnceLock;

use axum::http::HeaderMap;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::RsaPrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use serde::Deserialize;
use serde_json::Value;

use super::{AuthKind, TEST_APP_KEY_PEM};

/// GitHub refuses App JWTs that live longer than ten minutes (`exp - iat`).
const MAX_JWT_LIFETIME_SECS: i64 = 10 * 60;

/// GitHub tolerates some clock drift on `iat`; octocrab backdates it by 60 s for that reason.
const IAT_DRIFT_SECS: i64 = 60;

/// The claims GitHub reads from an App JWT.
#[derive(Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
    /// The App id; octocrab sends a number, other clients a string.
    iss: Value,
}

/// The public half of the fixed test key, derived once from the private PEM.
fn decoding_key() -> &'static DecodingKey {
    static KEY: OnceLock<DecodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = RsaPrivateKey::from_pkcs1_pem(TEST_APP_KEY_PEM)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(TEST_APP_KEY_PEM))
            .expect("the test App key fixture is an RSA private key");
        let public = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key encodes as PEM");
        DecodingKey::from_rsa_pem(public.as_bytes()).expect("a PEM public key decodes")
    })
}

/// The credential in `Authorization`, without its scheme.
pub(crate) fn credential(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, credential) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| credential.trim())
}

/// What kind of credential a request carried, for the request log.
pub(crate) fn auth_kind(headers: &HeaderMap) -> AuthKind {
    match headers.get("authorization") {
        None => AuthKind::None,
        Some(_) => match credential(headers) {
            // A JWT is three base64url segments; installation tokens have no dots.
            Some(c) if c.split('.').count() == 3 => AuthKind::Jwt,
            Some(_) => AuthKind::Token,
            None => AuthKind::Other,
        },
    }
}

/// Verifies an App JWT the way GitHub does; `Err` carries GitHub's 401 message.
pub(crate) fn verify_app_jwt(headers: &HeaderMap, app_id: u64) -> Result<(), &'static str> {
    let token = credential(headers).ok_or("A JSON web token could not be decoded")?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Checked by hand below: GitHub's rules differ from jsonwebtoken's defaults (leeway, iss type).
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(token, decoding_key(), &validation)
        .map_err(|_| "A JSON web token could not be decoded")?;
    let claims = data.claims;
    let now = Utc::now().timestamp();
    if claims.exp <= now {
        return Err(
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        );
    }
    if claims.exp - claims.iat > MAX_JWT_LIFETIME_SECS {
        return Err("'Expiration time' claim ('exp') is too far in the future");
    }
    if claims.iat > now + IAT_DRIFT_SECS {
        return Err(
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        );
    }
    let issuer_matches = match &claims.iss {
        Value::Number(n) => n.as_u64() == Some(app_id),
        Value::String(s) => s == &app_id.to_string(),
        _ => false,
    };
    if !issuer_matches {
        return Err("'Issuer' claim ('iss') must be an Integer");
    }
    Ok(())
}
