//! Test controls carried in request headers.
//!
//! Retry, back-off and refresh logic can only be tested against a server that fails
//! on demand. Keeping every control in the request (rather than "fail the next N
//! calls" counters) means any Lambda instance behaves the same for the same request,
//! so tests stay deterministic with no shared state. A control header with a bad
//! value is answered with 400 rather than ignored, so a typo can't make a fault test
//! pass by accident.
//!
//! | header | effect |
//! | --- | --- |
//! | `X-Mock-Delay-Ms: N` | sleep N ms (capped at [`MAX_DELAY_MS`]) before answering |
//! | `X-Mock-Status: NNN` | answer status NNN (400-599) with `{"Message":"Injected ..."}`, before auth |
//! | `X-Mock-Retry-After: V` | with `X-Mock-Status`, send `Retry-After: V` verbatim |
//! | `X-Mock-Fail-Percent: P` | with `X-Mock-Status`, inject it in only P% of requests (0-100), drawn per request: a flaky API with no shared state |
//! | `X-Mock-Revoke-Before: S` | refuse bearer tokens issued before epoch second S |

use std::time::Duration;

use lambda_http::http::{HeaderMap, HeaderValue, StatusCode};

/// Longest injected delay. Long enough to outlast any sane client timeout, short
/// enough that a typo doesn't hold a Lambda for its whole 15-minute limit.
pub(crate) const MAX_DELAY_MS: u64 = 60_000;

pub(crate) const DELAY: &str = "x-mock-delay-ms";
pub(crate) const STATUS: &str = "x-mock-status";
pub(crate) const RETRY_AFTER: &str = "x-mock-retry-after";
pub(crate) const REVOKE_BEFORE: &str = "x-mock-revoke-before";
pub(crate) const FAIL_PERCENT: &str = "x-mock-fail-percent";

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Controls {
    pub delay: Option<Duration>,
    pub status: Option<StatusCode>,
    pub retry_after: Option<HeaderValue>,
    pub revoke_before: Option<u64>,
    pub fail_percent: Option<u8>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ControlError {
    #[error("X-Mock-Delay-Ms must be a whole number of milliseconds")]
    Delay,
    #[error("X-Mock-Status must be a status code from 400 to 599")]
    Status,
    #[error("X-Mock-Revoke-Before must be epoch seconds")]
    RevokeBefore,
    #[error("X-Mock-Fail-Percent must be a whole number from 0 to 100")]
    FailPercent,
}

impl Controls {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, ControlError> {
        let number = |name: &str, err: ControlError| -> Result<Option<u64>, ControlError> {
            match headers.get(name) {
                None => Ok(None),
                Some(value) => value
                    .to_str()
                    .ok()
                    .and_then(|text| text.trim().parse::<u64>().ok())
                    .map(Some)
                    .ok_or(err),
            }
        };
        let delay = number(DELAY, ControlError::Delay)?
            .map(|ms| Duration::from_millis(ms.min(MAX_DELAY_MS)));
        let status = number(STATUS, ControlError::Status)?
            .map(|code| {
                u16::try_from(code)
                    .ok()
                    .filter(|code| (400..=599).contains(code))
                    .and_then(|code| StatusCode::from_u16(code).ok())
                    .ok_or(ControlError::Status)
            })
            .transpose()?;
        let revoke_before = number(REVOKE_BEFORE, ControlError::RevokeBefore)?;
        let fail_percent = number(FAIL_PERCENT, ControlError::FailPercent)?
            .map(|p| {
                u8::try_from(p)
                    .ok()
                    .filter(|p| *p <= 100)
                    .ok_or(ControlError::FailPercent)
            })
            .transpose()?;
        Ok(Controls {
            delay,
            status,
            retry_after: headers.get(RETRY_AFTER).cloned(),
            revoke_before,
            fail_percent,
        })
    }

    /// The status to inject into this request, if any: always when
    /// `X-Mock-Status` is given alone, in `fail_percent`% of requests otherwise.
    pub(crate) fn injected_status(&self, roll: u8) -> Option<StatusCode> {
        let status = self.status?;
        match self.fail_percent {
            Some(p) if roll >= p => None,
            _ => Some(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fail_percent_limits_injection_to_that_share_of_rolls() {
        let c = Controls::from_headers(&headers(&[
            ("x-mock-status", "503"),
            ("x-mock-fail-percent", "33"),
        ]))
        .expect("valid");
        let failed = (0..100u8)
            .filter(|roll| c.injected_status(*roll).is_some())
            .count();
        assert_eq!(failed, 33);
        let always = Controls::from_headers(&headers(&[("x-mock-status", "503")])).expect("valid");
        assert!(
            (0..100u8)
                .all(|roll| always.injected_status(roll) == Some(StatusCode::SERVICE_UNAVAILABLE))
        );
        let never =
            Controls::from_headers(&headers(&[("x-mock-fail-percent", "100")])).expect("valid");
        assert_eq!(
            never.injected_status(0),
            None,
            "no status, nothing to inject"
        );
        assert_eq!(
            Controls::from_headers(&headers(&[("x-mock-fail-percent", "101")])),
            Err(ControlError::FailPercent)
        );
    }

    #[test]
    fn no_headers_no_controls() {
        assert_eq!(
            Controls::from_headers(&HeaderMap::new()),
            Ok(Controls::default())
        );
    }

    #[test]
    fn all_controls_are_read() {
        let controls = Controls::from_headers(&headers(&[
            ("x-mock-delay-ms", "250"),
            ("x-mock-status", "503"),
            ("x-mock-retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
            ("x-mock-revoke-before", " 1700000000 "),
        ]))
        .expect("valid");
        assert_eq!(controls.delay, Some(Duration::from_millis(250)));
        assert_eq!(controls.status, Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(
            controls.retry_after.as_ref().map(HeaderValue::as_bytes),
            Some(&b"Wed, 21 Oct 2015 07:28:00 GMT"[..])
        );
        assert_eq!(controls.revoke_before, Some(1_700_000_000));
    }

    #[test]
    fn delay_is_capped() {
        let controls =
            Controls::from_headers(&headers(&[("x-mock-delay-ms", "99999999999")])).expect("valid");
        assert_eq!(controls.delay, Some(Duration::from_millis(MAX_DELAY_MS)));
    }

    #[test]
    fn bad_values_are_errors() {
        let cases = [
            ("x-mock-delay-ms", "-1", ControlError::Delay),
            ("x-mock-delay-ms", "soon", ControlError::Delay),
            ("x-mock-status", "200", ControlError::Status),
            ("x-mock-status", "399", ControlError::Status),
            ("x-mock-status", "600", ControlError::Status),
            ("x-mock-status", "70000", ControlError::Status),
            ("x-mock-status", "5xx", ControlError::Status),
            ("x-mock-revoke-before", "now", ControlError::RevokeBefore),
        ];
        for (name, value, expected) in cases {
            assert_eq!(
                Controls::from_headers(&headers(&[(name, value)])),
                Err(expected),
                "{name}: {value}"
            );
        }
    }
}
