//! An AWS SDK exception message, as Step Functions' AWS SDK integrations
//! (and optimised ones that call the SDK) write it: `"msg (Service: X,
//! Status Code: N, Request ID: R)"`; the Java SDK's older form separates
//! with `;` and adds `Error Code`, its 2.x form adds ` (SDK Attempt Count:
//! N)` after the group.

use super::{Input, Shape, Sheet, clip, timed_out};

#[derive(Debug, Clone, PartialEq)]
pub struct SdkError {
    pub message: String,
    pub service: Option<String>,
    pub status_code: Option<u16>,
    pub error_code: Option<String>,
    pub request_id: Option<String>,
    /// The AWS SDK for Java 2.x's `(SDK Attempt Count: N)` suffix.
    pub attempts: Option<u32>,
}

pub(super) fn decode(input: &mut Input<'_>) -> Option<Box<dyn Shape>> {
    Some(Box::new(parse(input.prose()?)?))
}

/// The group ends at its own `)`, so the attempt-count suffix does not end
/// up inside the request id; anything else after it is not an SDK suffix.
fn parse(cause: &str) -> Option<SdkError> {
    let start = cause.rfind("(Service: ")?;
    let rest = &cause[start + 1..];
    let close = rest.find(')')?;
    let inner = &rest[..close];
    let after = rest[close + 1..].trim();
    let attempts = match after {
        "" => None,
        s => Some(
            s.strip_prefix("(SDK Attempt Count:")?
                .strip_suffix(')')?
                .trim()
                .parse::<u32>()
                .ok()?,
        ),
    };
    let mut decoded_fields = (None, None, None, None);
    for field in inner.split([',', ';']) {
        let Some((k, v)) = field.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Service" => decoded_fields.0 = Some(v.to_owned()),
            "Status Code" => decoded_fields.1 = v.parse().ok(),
            "Error Code" => decoded_fields.2 = Some(v.to_owned()),
            "Request ID" => decoded_fields.3 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (service, status_code, error_code, request_id) = decoded_fields;
    Some(SdkError {
        message: cause[..start].trim().to_owned(),
        service,
        status_code,
        error_code,
        request_id,
        attempts,
    })
}

impl Shape for SdkError {
    fn message(&self) -> Option<String> {
        Some(self.message.clone())
    }

    fn reason(&self) -> Option<String> {
        timed_out(&self.message)
    }

    /// The error code says what the wrapper does not (`AccessDenied: ...`).
    fn typed_message(&self) -> Option<String> {
        match &self.error_code {
            Some(code) if !self.message.is_empty() => {
                Some(clip(&format!("{code}: {}", self.message)))
            }
            _ => self.message().map(|m| clip(&m)),
        }
    }

    fn type_name(&self) -> Option<String> {
        self.error_code.clone()
    }

    /// `<Prefix>.<Service>Exception`, with the service as the suffix names
    /// it: the SDK's catch-all for that service.
    fn wraps(&self, error: &str) -> bool {
        let (Some(service), Some((_, exception))) = (&self.service, error.split_once('.')) else {
            return false;
        };
        exception
            .strip_suffix("Exception")
            .is_some_and(|stem| stem == service)
    }

    fn rows(&self, sheet: &mut dyn Sheet) {
        sheet.row("Service", self.service.as_deref());
        sheet.row(
            "Status code",
            self.status_code.map(|c| c.to_string()).as_deref(),
        );
        sheet.row("Error code", self.error_code.as_deref());
        sheet.row("Request ID", self.request_id.as_deref());
        sheet.row(
            "SDK attempts",
            self.attempts.map(|n| n.to_string()).as_deref(),
        );
        sheet.long_row("Message", &self.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cause::decode;
    use crate::cause::plain::Text;

    /// Table: cause → (service, status, error code, request id, attempts).
    #[test]
    fn sdk_suffix_all_styles() {
        type Row<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<u16>,
            Option<&'a str>,
            Option<&'a str>,
            Option<u32>,
        );
        let cases: &[Row] = &[
            (
                "Requested resource not found (Service: DynamoDb, Status Code: 400, Request ID: ABC123)",
                "Requested resource not found",
                Some("DynamoDb"),
                Some(400),
                None,
                Some("ABC123"),
                None,
            ),
            (
                "Denied (Service: AmazonS3; Status Code: 403; Error Code: AccessDenied; Request ID: X; Proxy: null)",
                "Denied",
                Some("AmazonS3"),
                Some(403),
                Some("AccessDenied"),
                Some("X"),
                None,
            ),
            (
                "Policy arn:aws:iam::aws:policy/service-role/ConfigRole does not exist or is not attachable. (Service: Iam, Status Code: 404, Request ID: 6bde6909-c764-4280-91cc-55c0fdbfe5df) (SDK Attempt Count: 1)",
                "Policy arn:aws:iam::aws:policy/service-role/ConfigRole does not exist or is not attachable.",
                Some("Iam"),
                Some(404),
                None,
                Some("6bde6909-c764-4280-91cc-55c0fdbfe5df"),
                Some(1),
            ),
        ];
        for (cause, message, service, status, code, rid, attempts) in cases {
            let d = decode(None, Some(cause));
            assert_eq!(
                d.get::<SdkError>(),
                Some(&SdkError {
                    message: (*message).into(),
                    service: service.map(Into::into),
                    status_code: *status,
                    error_code: code.map(Into::into),
                    request_id: rid.map(Into::into),
                    attempts: *attempts,
                }),
                "{cause}"
            );
        }
        // Something else after the group: not an SDK suffix, kept as text.
        let odd = "x (Service: S, Status Code: 1, Request ID: R) and more";
        assert_eq!(
            decode(None, Some(odd)).get::<Text>(),
            Some(&Text(odd.into()))
        );
        let d = decode(
            None,
            Some(
                "Denied (Service: AmazonS3; Status Code: 403; Error Code: AccessDenied; Request ID: X; Proxy: null)",
            ),
        );
        assert_eq!(d.headline(None, None).error, "AccessDenied");
    }

    /// The suffix's service names the catch-all the error name alone does
    /// not give away (`EMR` is `AmazonElasticMapReduce` to the SDK).
    #[test]
    fn the_service_in_the_suffix_marks_its_catch_all() {
        let cause = "jobFlowId 'x' is not valid. (Service: AmazonElasticMapReduce; Status Code: 400; Error Code: ValidationException; Request ID: r; Proxy: null)";
        let d = decode(None, Some(cause));
        for (error, wraps) in [
            ("EMR.AmazonElasticMapReduceException", true),
            ("EMR.ValidationException", false),
            ("AmazonElasticMapReduceException", false),
        ] {
            let lead = d.lead(Some(error), None);
            let reason = if wraps {
                "ValidationException: jobFlowId 'x' is not valid."
            } else {
                error
            };
            assert_eq!(lead.reason, reason, "{error}");
        }
    }
}
