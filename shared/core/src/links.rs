//! AWS console deep links, built only from facts the event carries (ARNs,
//! ids, log stream names, times): no API calls, so a ticket renders the same
//! offline, in `notifier render`, and in the Lambda.
//!
//! Every link is for the partition and region of the ARN it is built from,
//! because a GovCloud or China execution opened in the commercial console is
//! a dead end: `aws` → `https://REGION.console.aws.amazon.com` (AWS General
//! Reference, "AWS Management Console endpoints"), `aws-cn` →
//! `https://console.amazonaws.cn`, `aws-us-gov` →
//! `https://console.amazonaws-us-gov.com`; each page takes `region=`.
//! Anything that does not parse yields no link rather than a wrong one.
//!
//! This module is the console's grammar (partitions, regions, escaping)
//! and the pages every ticket links to; a resource's own page belongs to
//! the cause shape that names the resource (`crate::cause`), built with
//! [`Console::page`].

use time::OffsetDateTime;

/// The parts of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// Everything after the account, e.g. `function:name` or `task/c/id`.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        Some(arn)
    }

    /// Where this ARN's console lives, if its partition and region are
    /// plausible (the region becomes part of a host name).
    pub fn console(&self) -> Option<Console> {
        Console::new(self.partition, self.region)
    }
}

/// A partition's console, for one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    base: String,
    region: String,
}

impl Console {
    pub fn new(partition: &str, region: &str) -> Option<Self> {
        let plausible = !region.is_empty()
            && region.len() <= 32
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plausible {
            return None;
        }
        let base = match partition {
            "aws" => format!("https://{region}.console.aws.amazon.com"),
            "aws-cn" => "https://console.amazonaws.cn".to_owned(),
            "aws-us-gov" => "https://console.amazonaws-us-gov.com".to_owned(),
            _ => return None,
        };
        Some(Console {
            base,
            region: region.to_owned(),
        })
    }

    /// `console/path?region=R` + fragment: every console page takes the
    /// region as a query parameter, whatever the partition's host. `path`
    /// and `fragment` go in as they are, so a caller puts event values in
    /// only after [`is_id`] or [`encode`].
    pub fn page(&self, path: &str, fragment: &str) -> String {
        format!("{}/{path}?region={}{fragment}", self.base, self.region)
    }
}

/// The execution's page in the Step Functions console.
pub fn execution(execution_arn: &str) -> Option<String> {
    let arn = Arn::parse(execution_arn).filter(|a| a.service == "states")?;
    Some(arn.console()?.page(
        "states/home",
        &format!("#/v2/executions/details/{}", path_safe(execution_arn)?),
    ))
}

/// The state machine's page in the Step Functions console.
pub fn state_machine(state_machine_arn: &str) -> Option<String> {
    let arn = Arn::parse(state_machine_arn).filter(|a| a.service == "states")?;
    Some(arn.console()?.page(
        "states/home",
        &format!("#/statemachines/view/{}", path_safe(state_machine_arn)?),
    ))
}

/// CloudWatch Logs Insights on the function's log group, filtered on the
/// invocation's request id, over `window` when the times are known (a
/// relative window would show nothing a week later).
pub fn lambda_logs(
    function_arn: &str,
    request_id: &str,
    window: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Option<String> {
    let arn = Arn::parse(function_arn).filter(|a| a.service == "lambda")?;
    let name = arn.resource.strip_prefix("function:")?.split(':').next()?;
    if name.is_empty() || !is_id(request_id) {
        return None;
    }
    let query = format!(
        "fields @timestamp, @message\n| filter @requestId = \"{request_id}\"\n| sort @timestamp asc"
    );
    let group = format!("/aws/lambda/{name}");
    let time = match window {
        Some((start, end)) => format!(
            "end~'{}~start~'{}~timeType~'ABSOLUTE~tz~'UTC",
            insights_escape(&iso(end)?),
            insights_escape(&iso(start)?)
        ),
        None => "end~0~start~-86400~timeType~'RELATIVE~unit~'seconds".to_owned(),
    };
    let detail = format!(
        "~({time}~editorString~'{}~source~(~'{}))",
        insights_escape(&query),
        insights_escape(&group)
    );
    Some(arn.console()?.page(
        "cloudwatch/home",
        &format!("#logsV2:logs-insights$3FqueryDetail$3D{detail}"),
    ))
}

/// A log stream's events, in the console's doubly encoded form
/// (`/aws/batch/job` → `$252Faws$252Fbatch$252Fjob`).
pub fn log_stream(console: &Console, group: &str, stream: &str) -> Option<String> {
    if group.is_empty() || stream.is_empty() || group.len() > 512 || stream.len() > 512 {
        return None;
    }
    Some(console.page(
        "cloudwatch/home",
        &format!(
            "#logsV2:log-groups/log-group/{}/log-events/{}",
            console_escape(group),
            console_escape(stream)
        ),
    ))
}

/// Ids, names and request ids we put into URLs or queries unencoded.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// ARNs go into console fragments as they are (that is what the console
/// itself links to); only ARN characters are allowed through.
fn path_safe(arn: &str) -> Option<&str> {
    (arn.len() <= 2048
        && arn.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b':' | b'-' | b'_' | b'.' | b'/' | b'+' | b'=' | b'@' | b','
                )
        }))
    .then_some(arn)
}

/// Percent-encodes all but unreserved characters, with `mark` for `%`.
fn percent(s: &str, mark: char) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            out.push(mark);
            out.push_str(&format!("{b:02X}"));
        }
    }
    out
}

/// A name for a console path or fragment (a Glue job's may hold spaces),
/// percent-encoded.
pub fn encode(s: &str) -> String {
    percent(s, '%')
}

/// Logs Insights' `queryDetail` values: percent-encoded with `*` for `%`.
fn insights_escape(s: &str) -> String {
    percent(s, '*')
}

/// The console's log group/stream encoding: percent-encoded twice, the
/// outer `%` written as `$`.
fn console_escape(s: &str) -> String {
    percent(&percent(s, '%'), '%').replace('%', "$")
}

fn iso(t: OffsetDateTime) -> Option<String> {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.to_offset(time::UtcOffset::UTC).format(FORMAT).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "123456789012";

    /// Table: partition and region in the ARN → the console URL prefix.
    #[test]
    fn every_partition_gets_its_own_console() {
        let cases = [
            (
                "aws",
                "eu-west-1",
                Some("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#"),
            ),
            (
                "aws-cn",
                "cn-north-1",
                Some("https://console.amazonaws.cn/states/home?region=cn-north-1#"),
            ),
            (
                "aws-us-gov",
                "us-gov-west-1",
                Some("https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#"),
            ),
            ("aws-iso", "us-iso-east-1", None),
            ("aws", "EU-WEST-1", None),
            ("aws", "eu-west-1.evil.example", None),
            ("aws", "", None),
        ];
        for (partition, region, prefix) in cases {
            let arn = format!("arn:{partition}:states:{region}:{ACCOUNT}:execution:orders:run-1");
            let link = execution(&arn);
            match prefix {
                Some(p) => {
                    let link = link.unwrap_or_default();
                    assert!(link.starts_with(p), "{arn}: {link}");
                    assert!(
                        link.ends_with(&format!("#/v2/executions/details/{arn}")),
                        "{link}"
                    );
                }
                None => assert_eq!(link, None, "{arn}"),
            }
        }
    }

    /// Table: builder → expected link (or none for input that must not link).
    #[test]
    fn each_resource_links_to_its_page() {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let cn = Console::new("aws-cn", "cn-northwest-1").unwrap();
        let cases: Vec<(&str, Option<String>, Option<&str>)> = vec![
            (
                "state machine",
                state_machine("arn:aws:states:us-east-1:1:stateMachine:nightly"),
                Some(
                    "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/statemachines/view/arn:aws:states:us-east-1:1:stateMachine:nightly",
                ),
            ),
            (
                "lambda, relative window",
                lambda_logs(
                    "arn:aws:lambda:eu-west-1:1:function:charge:live",
                    "3e0a1c9b-8f5d",
                    None,
                ),
                Some(
                    "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights$3FqueryDetail$3D~(end~0~start~-86400~timeType~'RELATIVE~unit~'seconds~editorString~'fields*20*40timestamp*2C*20*40message*0A*7C*20filter*20*40requestId*20*3D*20*223e0a1c9b-8f5d*22*0A*7C*20sort*20*40timestamp*20asc~source~(~'*2Faws*2Flambda*2Fcharge))",
                ),
            ),
            (
                "lambda in GovCloud, absolute window",
                lambda_logs(
                    "arn:aws-us-gov:lambda:us-gov-east-1:1:function:f",
                    "r-1",
                    Some((at(0), at(60))),
                ),
                Some(
                    "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-east-1#logsV2:logs-insights$3FqueryDetail$3D~(end~'1970-01-01T00*3A01*3A00.000Z~start~'1970-01-01T00*3A00*3A00.000Z~timeType~'ABSOLUTE~tz~'UTC~editorString~'fields*20*40timestamp*2C*20*40message*0A*7C*20filter*20*40requestId*20*3D*20*22r-1*22*0A*7C*20sort*20*40timestamp*20asc~source~(~'*2Faws*2Flambda*2Ff))",
                ),
            ),
            (
                "lambda, hostile request id",
                lambda_logs(
                    "arn:aws:lambda:eu-west-1:1:function:f",
                    "x\" | delete",
                    None,
                ),
                None,
            ),
            (
                "log stream",
                log_stream(&cn, "/aws/batch/job", "nightly/default/abc123"),
                Some(
                    "https://console.amazonaws.cn/cloudwatch/home?region=cn-northwest-1#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob/log-events/nightly$252Fdefault$252Fabc123",
                ),
            ),
            ("not an ARN", execution("execution:orders:run-1"), None),
            (
                "wrong service",
                execution("arn:aws:lambda:us-east-1:1:function:f"),
                None,
            ),
            (
                "markup in an ARN",
                execution("arn:aws:states:us-east-1:1:execution:m:<script>"),
                None,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got.as_deref(), want, "{what}");
        }
    }
}
