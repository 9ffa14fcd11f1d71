//! Failure classification: what a vendor's answer (or the lack of one) means for the run —
//! retry it, heal it, or fail it loudly (SPEC §3).

/// What the executor does with one outbound call's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: check the contract.
    Success,
    /// Retry with back-off.
    Transient,
    /// Revoked or insufficient access: never healed around.
    Auth,
    /// The request no longer fits the vendor (moved, method or parameters changed): heal.
    RequestContract,
    /// Any other vendor error: fail with the vendor's answer.
    VendorError,
}

pub fn classify_status(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Success,
        408 | 425 | 429 | 502 | 503 | 504 => Verdict::Transient,
        401 | 403 => Verdict::Auth,
        300..=399 | 400 | 404 | 405 | 406 | 410 | 415 | 422 => Verdict::RequestContract,
        _ => Verdict::VendorError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_spec_classes() {
        assert_eq!(classify_status(200), Verdict::Success);
        assert_eq!(classify_status(204), Verdict::Success);
        for s in [429, 502, 503, 504] {
            assert_eq!(classify_status(s), Verdict::Transient, "{s}");
        }
        assert_eq!(classify_status(401), Verdict::Auth);
        assert_eq!(classify_status(403), Verdict::Auth);
        for s in [301, 308, 400, 404, 405, 410, 422] {
            assert_eq!(classify_status(s), Verdict::RequestContract, "{s}");
        }
        assert_eq!(classify_status(500), Verdict::VendorError);
    }
}
