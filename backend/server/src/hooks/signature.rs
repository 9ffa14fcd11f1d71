//! Webhook signature checks: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`, 5-minute tolerance) and GitHub's
//! `X-Hub-Signature-256: sha256=<hex>`.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::secrets::constant_time_eq;

pub const TOLERANCE_SECS: i64 = 5 * 60;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing `{0}` header")]
    Missing(&'static str),
    #[error("`webhook-timestamp` is not a Unix timestamp")]
    BadTimestamp,
    #[error("`webhook-timestamp` is more than 5 minutes away from the server clock")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
    #[error("the workflow's webhook secret is malformed")]
    BadSecret,
}

fn secret_key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::BadSecret)
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, SignatureError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| SignatureError::BadSecret)?;
    for p in parts {
        mac.update(p);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Signs like a Standard Webhooks sender (used by tests and the docs' examples).
pub fn sign_standard(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    let key = secret_key(secret)?;
    let ts = timestamp.to_string();
    let mac = hmac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body])?;
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    ))
}

pub fn verify_standard(
    secret: &str,
    id: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let id = id.ok_or(SignatureError::Missing("webhook-id"))?;
    let ts_text = timestamp.ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let signature = signature.ok_or(SignatureError::Missing("webhook-signature"))?;
    let ts: i64 = ts_text
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let key = secret_key(secret)?;
    let expected = hmac(
        &key,
        &[id.as_bytes(), b".", ts_text.trim().as_bytes(), b".", body],
    )?;
    // The header may carry several space-separated signatures (key rotation).
    let matched = signature.split_whitespace().any(|candidate| {
        let Some(b64) = candidate.strip_prefix("v1,") else {
            return false;
        };
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(sig) => constant_time_eq(&sig, &expected),
            Err(_) => false,
        }
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

pub fn sign_github(secret: &str, body: &[u8]) -> Result<String, SignatureError> {
    let mac = hmac(secret.as_bytes(), &[body])?;
    Ok(format!(
        "sha256={}",
        mac.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

pub fn verify_github(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing("x-hub-signature-256"))?;
    let expected = sign_github(secret, body)?;
    if constant_time_eq(header.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vector from the Standard Webhooks specification's reference implementations.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn standard_webhooks_reference_vector() {
        let sig = sign_standard(SECRET, ID, TS, BODY).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(
            verify_standard(
                SECRET,
                Some(ID),
                Some("1614265330"),
                Some(&sig),
                BODY,
                TS + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn standard_webhooks_rejections() {
        let sig = sign_standard(SECRET, ID, TS, BODY).unwrap();
        let ts = "1614265330";
        assert_eq!(
            verify_standard(SECRET, Some(ID), Some(ts), Some(&sig), b"{}", TS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_standard(SECRET, Some(ID), Some(ts), Some(&sig), BODY, TS + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_standard(SECRET, Some(ID), Some(ts), None, BODY, TS),
            Err(SignatureError::Missing("webhook-signature"))
        );
        assert_eq!(
            verify_standard(SECRET, None, Some(ts), Some(&sig), BODY, TS),
            Err(SignatureError::Missing("webhook-id"))
        );
        assert_eq!(
            verify_standard(SECRET, Some(ID), Some("x"), Some(&sig), BODY, TS),
            Err(SignatureError::BadTimestamp)
        );
        let rotated = format!("v1,AAAA {sig}");
        assert_eq!(
            verify_standard(SECRET, Some(ID), Some(ts), Some(&rotated), BODY, TS),
            Ok(())
        );
    }

    #[test]
    fn github_signature() {
        let sig = sign_github("It's a Secret to Everybody", b"Hello, World!").unwrap();
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert_eq!(
            verify_github("It's a Secret to Everybody", Some(&sig), b"Hello, World!"),
            Ok(())
        );
        assert_eq!(
            verify_github("other", Some(&sig), b"Hello, World!"),
            Err(SignatureError::Mismatch)
        );
    }
}
