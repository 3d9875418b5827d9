//! Environment → typed configuration, validated once at cold start so a bad
//! deployment fails on its first invocation with the variable's name, not
//! halfway through delivering a ticket.
//!
//! This is the outermost layer: it reads raw variables and builds the
//! settings types the domain modules define (`ticket::RenderConfig`,
//! `desk::DeskSettings`, `intake::ErrorPath`, `dedupe::Scope`,
//! `incident::Settings`).
//! Nothing imports it back, and nothing else reads the environment.

use std::time::Duration;

use url::Url;

use crate::dedupe::Scope;
use crate::desk::{DeskSettings, Filing, FromPerson, Roots};
pub use crate::error::ConfigError;
use crate::incident::{self, Grouping};
use crate::intake::ErrorPath;
pub use crate::notifier::Config;
use crate::redact::Redactor;
use crate::ticket::RenderConfig;

/// Lambda's longest invocation, 15 minutes, in milliseconds.
const MAX_LAMBDA_MS: u64 = 900_000;
const DAY_S: u64 = 86_400;
/// A leap year, in seconds.
const YEAR_S: u64 = 366 * DAY_S;

const PLACEHOLDER_EMAIL: &str = "set-FROM_PERSON_EMAIL-or-FROM_PERSON_UID@example.invalid";

impl RenderConfig {
    /// Lenient: every variable is optional, so `render` works anywhere. An
    /// unset FromPerson renders as an obvious placeholder.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let extra = non_empty(get, "REDACT_KEYS").unwrap_or_default();
        let redactor = Redactor::new(extra.split(',').map(str::trim));
        Ok(RenderConfig {
            // The Body's fingerprint marker follows the grouping in force;
            // `render` needs no table, so it reads the name leniently.
            marker: non_empty(get, "INCIDENT_GROUPING")
                .and_then(|g| Grouping::parse(&g))
                .unwrap_or(Grouping::State),
            account_names: account_names(get)?,
            subject_prefix: get("SUBJECT_PREFIX").unwrap_or_else(|| "[Step Functions]".to_owned()),
            region: non_empty(get, "AWS_REGION").or_else(|| non_empty(get, "AWS_DEFAULT_REGION")),
            redactor,
        })
    }
}

/// Who cases are filed as, leniently: every variable is optional, so
/// `render` works anywhere, and an unset FromPerson is an obvious
/// placeholder. [`Config::from_lookup`] requires one.
pub fn filing(get: &impl Fn(&str) -> Option<String>) -> Result<Filing, ConfigError> {
    let from_person =
        from_person(get)?.unwrap_or_else(|| FromPerson::Email(PLACEHOLDER_EMAIL.to_owned()));
    let source = match non_empty(get, "CASE_SOURCE") {
        None => 1,
        Some(v) => v
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| ConfigError::new("CASE_SOURCE", "must be an integer from 1 to 5"))?,
    };
    Ok(Filing {
        from_person,
        source,
    })
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Strict: delivery needs a URL, a secret and a sender.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut render = RenderConfig::from_lookup(get)?;
        let incidents = incidents(get)?;
        if incidents.grouping != Grouping::Off {
            render.marker = incidents.grouping;
        }
        let filing = filing(get)?;
        if from_person(get)?.is_none() {
            return Err(ConfigError::new(
                "FROM_PERSON_UID",
                "set FROM_PERSON_UID or FROM_PERSON_EMAIL (the person the case is filed as)",
            ));
        }
        let raw_url = required(get, "TICKET_API_URL")?;
        let url = endpoint_url(&raw_url).map_err(|e| ConfigError::new("TICKET_API_URL", e))?;
        Ok(Config {
            render,
            error_path: error_path(get)?,
            history_role_name: history_role_name(get)?,
            metrics_namespace: match non_empty(get, "METRICS_NAMESPACE") {
                None => crate::metrics::DEFAULT_NAMESPACE.to_owned(),
                Some(ns) if crate::metrics::valid_namespace(&ns) => ns,
                Some(_) => {
                    return Err(ConfigError::new(
                        "METRICS_NAMESPACE",
                        "must be 1 to 255 letters, digits, spaces or . - _ / # :, not under AWS/",
                    ));
                }
            },
            routing_cache: match non_empty(get, "ROUTING").map(|v| v.to_ascii_lowercase()) {
                None => Some(()),
                Some(v) if v == "tags" => Some(()),
                Some(v) if v == "off" => None,
                Some(_) => return Err(ConfigError::new("ROUTING", "must be tags or off")),
            }
            .map(|()| ranged(get, "ROUTING_CACHE_SECONDS", 300, 0..=DAY_S))
            .transpose()?
            .map(Duration::from_secs),
            desk: DeskSettings {
                url,
                filing,
                agent_name: incidents.agent_name.clone(),
                send_auto_responder: boolean(get, "SEND_AUTO_RESPONDER", false)?,
                max_attempts: ranged(get, "MAX_ATTEMPTS", 5, 1..=20)? as u32,
                attempt_timeout: Duration::from_millis(ranged(
                    get,
                    "ATTEMPT_TIMEOUT_MS",
                    10_000,
                    100..=MAX_LAMBDA_MS,
                )?),
                roots: match non_empty(get, "TLS_ROOTS") {
                    None => Roots::Bundled,
                    Some(v) => Roots::parse(&v).ok_or_else(|| {
                        ConfigError::new("TLS_ROOTS", "must be bundled or system")
                    })?,
                },
                connection_secret_id: required(get, "CONNECTION_SECRET_ID")?,
                secret_cache_ttl: Duration::from_secs(ranged(
                    get,
                    "SECRET_CACHE_TTL_SECONDS",
                    300,
                    0..=DAY_S,
                )?),
            },
            deadline_margin: Duration::from_millis(ranged(
                get,
                "DEADLINE_MARGIN_MS",
                500,
                0..=60_000,
            )?),
            default_budget: Duration::from_millis(ranged(
                get,
                "DEFAULT_BUDGET_MS",
                25_000,
                100..=MAX_LAMBDA_MS,
            )?),
            incidents,
            idempotency_table: non_empty(get, "IDEMPOTENCY_TABLE"),
            dedupe_scope: match non_empty(get, "DEDUPE_SCOPE") {
                None => Scope::Error,
                Some(v) => Scope::parse(&v).ok_or_else(|| {
                    ConfigError::new("DEDUPE_SCOPE", "must be execution, state or error")
                })?,
            },
            idempotency_ttl: Duration::from_secs(ranged(
                get,
                "IDEMPOTENCY_TTL_SECONDS",
                86_400,
                1..=YEAR_S,
            )?),
            log_max_bytes: ranged(get, "LOG_EVENT_MAX_BYTES", 64 * 1024, 8 * 1024..=1 << 20)?
                as usize,
            fallback_topic_arn: match non_empty(get, "FALLBACK_TOPIC_ARN") {
                Some(arn) if !arn.starts_with("arn:") => {
                    return Err(ConfigError::new(
                        "FALLBACK_TOPIC_ARN",
                        "must be an SNS topic ARN",
                    ));
                }
                other => other,
            },
        })
    }
}

/// Incident grouping. It needs the table (incidents live there, beside
/// the dedupe claims): without `IDEMPOTENCY_TABLE` the default is `off`,
/// and asking for `state` or `error` is an error rather than a silent
/// downgrade, since the operator expects storms to be grouped.
fn incidents(get: &impl Fn(&str) -> Option<String>) -> Result<incident::Settings, ConfigError> {
    let table = non_empty(get, "IDEMPOTENCY_TABLE").is_some();
    let grouping = match non_empty(get, "INCIDENT_GROUPING") {
        None if table => Grouping::State,
        None => Grouping::Off,
        Some(v) => {
            let g = Grouping::parse(&v).ok_or_else(|| {
                ConfigError::new("INCIDENT_GROUPING", "must be state, error or off")
            })?;
            if g != Grouping::Off && !table {
                return Err(ConfigError::new(
                    "INCIDENT_GROUPING",
                    "state and error grouping need IDEMPOTENCY_TABLE (incidents live in that table); set it, or INCIDENT_GROUPING=off",
                ));
            }
            g
        }
    };
    let window = ranged(get, "INCIDENT_WINDOW_SECONDS", 604_800, 1..=YEAR_S)?;
    let reply_interval = ranged(get, "INCIDENT_REPLY_INTERVAL_SECONDS", 60, 0..=DAY_S)?;
    // An incident that expires before its waiting occurrences could be
    // posted would only carry them onto the next case: keep room for at
    // least two reply intervals inside the window.
    if window < reply_interval.saturating_mul(2) {
        return Err(ConfigError::new(
            "INCIDENT_WINDOW_SECONDS",
            "must be at least twice INCIDENT_REPLY_INTERVAL_SECONDS",
        ));
    }
    let agent_name = non_empty(get, "REPLY_AGENT_NAME")
        .unwrap_or_else(|| incident::Settings::default().agent_name);
    if agent_name.chars().count() > 100 || agent_name.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "REPLY_AGENT_NAME",
            "must be one line of at most 100 characters",
        ));
    }
    let recovery_notes = boolean(get, "RECOVERY_NOTES", false)?;
    if recovery_notes && grouping == Grouping::Off {
        return Err(ConfigError::new(
            "RECOVERY_NOTES",
            "recovery notes go on incidents: they need INCIDENT_GROUPING state or error (and IDEMPOTENCY_TABLE)",
        ));
    }
    let resolve_after_successes = ranged(get, "RESOLVE_AFTER_SUCCESSES", 0, 0..=1_000)?;
    if resolve_after_successes > 0 && grouping == Grouping::Off {
        return Err(ConfigError::new(
            "RESOLVE_AFTER_SUCCESSES",
            "closing cases on recovery works on incidents: it needs INCIDENT_GROUPING state or error (and IDEMPOTENCY_TABLE)",
        ));
    }
    let reopen_window = ranged(get, "REOPEN_WINDOW_SECONDS", DAY_S, 0..=YEAR_S)?;
    let mute_tag = non_empty(get, "MUTE_TAG").unwrap_or_else(|| "muted".to_owned());
    if mute_tag.chars().count() > 100 || mute_tag.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "MUTE_TAG",
            "must be one tag name of at most 100 characters",
        ));
    }
    let desk_per_second = ranged(
        get,
        "DESK_REQUESTS_PER_SECOND",
        u64::from(incident::DESK_PER_SECOND),
        0..=1_000,
    )?;
    Ok(incident::Settings {
        grouping,
        window: Duration::from_secs(window),
        reply_interval: Duration::from_secs(reply_interval),
        agent_name,
        recovery_notes,
        resolve_after_successes: u32::try_from(resolve_after_successes).unwrap_or(u32::MAX),
        reopen_window: Duration::from_secs(reopen_window),
        mute_tag,
        desk_per_second: u32::try_from(desk_per_second).unwrap_or(u32::MAX),
    })
}

/// `ACCOUNT_NAMES`: a JSON object of 12-digit account id to a short name.
fn account_names(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let Some(raw) = non_empty(get, "ACCOUNT_NAMES") else {
        return Ok(Default::default());
    };
    let bad = |why: &str| ConfigError::new("ACCOUNT_NAMES", why.to_owned());
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&raw)
        .map_err(|_| bad("must be a JSON object of account id to name"))?;
    map.into_iter()
        .map(|(id, name)| {
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("every key must be a 12-digit account id"));
            }
            match name.as_str() {
                Some(n)
                    if !n.is_empty()
                        && n.chars().count() <= 50
                        && !n.chars().any(char::is_control) =>
                {
                    Ok((id, n.to_owned()))
                }
                _ => Err(bad("every name must be one line of 1 to 50 characters")),
            }
        })
        .collect()
}

/// `HISTORY_ROLE_NAME`: the role the notifier assumes in another account to
/// read an execution's history; IAM's role-name alphabet and length.
fn history_role_name(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(name) = non_empty(get, "HISTORY_ROLE_NAME") else {
        return Ok(None);
    };
    let valid = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !valid {
        return Err(ConfigError::new(
            "HISTORY_ROLE_NAME",
            "must be an IAM role name: 1 to 64 letters, digits and +=,.@_-",
        ));
    }
    Ok(Some(name))
}

/// `ERROR_PATH`, which intake needs on every path (the CLI included).
pub fn error_path(get: &impl Fn(&str) -> Option<String>) -> Result<Option<ErrorPath>, ConfigError> {
    non_empty(get, "ERROR_PATH")
        .map(|p| ErrorPath::parse(&p).map_err(|e| ConfigError::new("ERROR_PATH", e)))
        .transpose()
}

fn from_person(get: &impl Fn(&str) -> Option<String>) -> Result<Option<FromPerson>, ConfigError> {
    if let Some(uid) = non_empty(get, "FROM_PERSON_UID") {
        return Ok(Some(FromPerson::Uid(uid)));
    }
    match non_empty(get, "FROM_PERSON_EMAIL") {
        Some(email) if email.contains('@') => Ok(Some(FromPerson::Email(email))),
        Some(_) => Err(ConfigError::new(
            "FROM_PERSON_EMAIL",
            "is not an email address",
        )),
        None => Ok(None),
    }
}

fn non_empty(get: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    get(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn required(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<String, ConfigError> {
    non_empty(get, var).ok_or_else(|| ConfigError::new(var, "is required but not set"))
}

/// A number in its documented range: a value outside it (or one too large
/// to parse) is a `ConfigError` naming the variable and the range, never a
/// silent clamp or an overflow later.
fn ranged(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let out_of_range = || {
        ConfigError::new(
            var,
            format!(
                "must be an integer from {} to {}",
                range.start(),
                range.end()
            ),
        )
    };
    match non_empty(get, var) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(out_of_range),
    }
}

fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match non_empty(get, var).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" || v == "1" || v == "yes" => Ok(true),
        Some(v) if v == "false" || v == "0" || v == "no" => Ok(false),
        Some(_) => Err(ConfigError::new(var, "must be true or false")),
    }
}

/// Parses an endpoint and refuses cleartext HTTP except to this machine:
/// tickets and tokens must not cross a network unencrypted, but local
/// emulators and tests speak plain HTTP on loopback.
pub fn endpoint_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("plain http is only allowed to loopback hosts; use https".to_owned()),
        other => Err(format!("unsupported scheme `{other}`; use https")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const GOOD: &[(&str, &str)] = &[
        (
            "TICKET_API_URL",
            "https://acme.outseta.com/api/v1/support/cases",
        ),
        ("CONNECTION_SECRET_ID", "events!connection/outseta/abc"),
        ("FROM_PERSON_EMAIL", "ops@example.com"),
    ];

    #[test]
    fn good_environment_gives_defaults() {
        let c = Config::from_lookup(&env(GOOD)).unwrap();
        assert_eq!(c.desk.filing.source, 1);
        assert!(!c.desk.send_auto_responder);
        assert_eq!(c.desk.secret_cache_ttl, Duration::from_secs(300));
        assert_eq!(c.desk.roots, Roots::Bundled);
        let mut system = GOOD.to_vec();
        system.push(("TLS_ROOTS", "system"));
        let c = Config::from_lookup(&env(&system)).unwrap();
        assert_eq!(c.desk.roots, Roots::System);
        assert_eq!(
            c.desk.filing.from_person,
            FromPerson::Email("ops@example.com".into())
        );
    }

    #[test]
    fn each_bad_variable_is_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("TICKET_API_URL", "http://example.com/x", "TICKET_API_URL"),
            ("TICKET_API_URL", "not a url", "TICKET_API_URL"),
            ("CASE_SOURCE", "9", "CASE_SOURCE"),
            ("SEND_AUTO_RESPONDER", "maybe", "SEND_AUTO_RESPONDER"),
            ("ERROR_PATH", "Payload.error", "ERROR_PATH"),
            ("MAX_ATTEMPTS", "-1", "MAX_ATTEMPTS"),
            ("FROM_PERSON_EMAIL", "nobody", "FROM_PERSON_EMAIL"),
            ("DEDUPE_SCOPE", "run", "DEDUPE_SCOPE"),
            ("FALLBACK_TOPIC_ARN", "my-topic", "FALLBACK_TOPIC_ARN"),
            ("INCIDENT_GROUPING", "machine", "INCIDENT_GROUPING"),
            ("INCIDENT_GROUPING", "state", "INCIDENT_GROUPING"),
            ("INCIDENT_WINDOW_SECONDS", "0", "INCIDENT_WINDOW_SECONDS"),
            (
                "INCIDENT_WINDOW_SECONDS",
                "a week",
                "INCIDENT_WINDOW_SECONDS",
            ),
            (
                "INCIDENT_REPLY_INTERVAL_SECONDS",
                "-5",
                "INCIDENT_REPLY_INTERVAL_SECONDS",
            ),
            ("REPLY_AGENT_NAME", &"x".repeat(101), "REPLY_AGENT_NAME"),
            ("RECOVERY_NOTES", "sometimes", "RECOVERY_NOTES"),
            ("RECOVERY_NOTES", "true", "RECOVERY_NOTES"),
            ("RESOLVE_AFTER_SUCCESSES", "3", "RESOLVE_AFTER_SUCCESSES"),
            ("REOPEN_WINDOW_SECONDS", "-1", "REOPEN_WINDOW_SECONDS"),
            ("MUTE_TAG", "a\ttag", "MUTE_TAG"),
            ("MUTE_TAG", &"m".repeat(101), "MUTE_TAG"),
            ("TLS_ROOTS", "mine", "TLS_ROOTS"),
            ("ACCOUNT_NAMES", "prod", "ACCOUNT_NAMES"),
            ("ACCOUNT_NAMES", r#"{"1234": "prod"}"#, "ACCOUNT_NAMES"),
            ("ACCOUNT_NAMES", r#"{"222222222222": ""}"#, "ACCOUNT_NAMES"),
            ("HISTORY_ROLE_NAME", "a role", "HISTORY_ROLE_NAME"),
            ("ROUTING", "labels", "ROUTING"),
            ("METRICS_NAMESPACE", "AWS/Lambda", "METRICS_NAMESPACE"),
            ("METRICS_NAMESPACE", "bridge!", "METRICS_NAMESPACE"),
            ("ROUTING_CACHE_SECONDS", "86401", "ROUTING_CACHE_SECONDS"),
            ("HISTORY_ROLE_NAME", &"r".repeat(65), "HISTORY_ROLE_NAME"),
            ("MAX_ATTEMPTS", "0", "MAX_ATTEMPTS"),
            ("MAX_ATTEMPTS", "21", "MAX_ATTEMPTS"),
            ("ATTEMPT_TIMEOUT_MS", "99", "ATTEMPT_TIMEOUT_MS"),
            ("ATTEMPT_TIMEOUT_MS", "900001", "ATTEMPT_TIMEOUT_MS"),
            (
                "SECRET_CACHE_TTL_SECONDS",
                "86401",
                "SECRET_CACHE_TTL_SECONDS",
            ),
            ("DEADLINE_MARGIN_MS", "60001", "DEADLINE_MARGIN_MS"),
            (
                "DEFAULT_BUDGET_MS",
                "18446744073709551615",
                "DEFAULT_BUDGET_MS",
            ),
            ("IDEMPOTENCY_TTL_SECONDS", "0", "IDEMPOTENCY_TTL_SECONDS"),
            (
                "IDEMPOTENCY_TTL_SECONDS",
                "9223372036854775808",
                "IDEMPOTENCY_TTL_SECONDS",
            ),
            (
                "IDEMPOTENCY_TTL_SECONDS",
                "99999999999999999999",
                "IDEMPOTENCY_TTL_SECONDS",
            ),
            ("LOG_EVENT_MAX_BYTES", "100", "LOG_EVENT_MAX_BYTES"),
            ("LOG_EVENT_MAX_BYTES", "1048577", "LOG_EVENT_MAX_BYTES"),
            (
                "INCIDENT_WINDOW_SECONDS",
                "31622401",
                "INCIDENT_WINDOW_SECONDS",
            ),
            (
                "INCIDENT_REPLY_INTERVAL_SECONDS",
                "86401",
                "INCIDENT_REPLY_INTERVAL_SECONDS",
            ),
            ("INCIDENT_WINDOW_SECONDS", "100", "INCIDENT_WINDOW_SECONDS"),
        ];
        for (var, value, named) in cases {
            let mut pairs: Vec<(&str, &str)> =
                GOOD.iter().copied().filter(|(k, _)| k != var).collect();
            pairs.push((var, value));
            let err = Config::from_lookup(&env(&pairs)).unwrap_err();
            assert_eq!(err.var, *named, "{var}={value}: {err}");
            assert!(
                !err.to_string().contains("example.com/x"),
                "value echoed: {err}"
            );
        }
        let err = Config::from_lookup(&env(&GOOD[1..])).unwrap_err();
        assert_eq!(err.var, "TICKET_API_URL");
        let err = Config::from_lookup(&env(&GOOD[..2])).unwrap_err();
        assert_eq!(err.var, "FROM_PERSON_UID");
    }

    #[test]
    fn incidents_default_to_state_grouping_with_a_table_and_off_without() {
        let c = Config::from_lookup(&env(GOOD)).unwrap();
        assert_eq!(c.incidents.grouping, Grouping::Off);
        let mut with_table = GOOD.to_vec();
        with_table.push(("IDEMPOTENCY_TABLE", "claims"));
        let c = Config::from_lookup(&env(&with_table)).unwrap();
        assert_eq!(c.incidents.grouping, Grouping::State);
        assert_eq!(c.incidents.window, Duration::from_secs(604_800));
        assert_eq!(c.incidents.reply_interval, Duration::from_secs(60));
        assert_eq!(c.incidents.agent_name, "Step Functions ticket bridge");
        assert!(!c.incidents.recovery_notes);
        assert_eq!(c.incidents.resolve_after_successes, 0);
        assert_eq!(c.incidents.reopen_window, Duration::from_secs(86_400));
        assert_eq!(c.incidents.mute_tag, "muted");
        assert!(!c.incidents.follows_successes());
        with_table.extend([
            ("INCIDENT_GROUPING", "Error"),
            ("INCIDENT_REPLY_INTERVAL_SECONDS", "0"),
            ("RECOVERY_NOTES", "true"),
            ("REPLY_AGENT_NAME", "Ops bot"),
            ("RESOLVE_AFTER_SUCCESSES", "3"),
            ("REOPEN_WINDOW_SECONDS", "3600"),
            ("MUTE_TAG", "snoozed"),
        ]);
        let c = Config::from_lookup(&env(&with_table)).unwrap();
        assert_eq!(c.incidents.grouping, Grouping::Error);
        assert_eq!(c.incidents.reply_interval, Duration::ZERO);
        assert!(c.incidents.recovery_notes);
        assert_eq!(c.incidents.agent_name, "Ops bot");
        assert_eq!(c.incidents.resolve_after_successes, 3);
        assert_eq!(c.incidents.reopen_window, Duration::from_secs(3600));
        assert_eq!(c.incidents.mute_tag, "snoozed");
        assert!(c.incidents.follows_successes());
        let mut off = GOOD.to_vec();
        off.push(("INCIDENT_GROUPING", "off"));
        assert_eq!(
            Config::from_lookup(&env(&off)).unwrap().incidents.grouping,
            Grouping::Off
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(endpoint_url("http://127.0.0.1:9000/x").is_ok());
        assert!(endpoint_url("http://localhost/x").is_ok());
        assert!(endpoint_url("http://[::1]:80/").is_ok());
        assert!(endpoint_url("http://10.0.0.1/").is_err());
        assert!(endpoint_url("ftp://localhost/").is_err());
    }

    #[test]
    fn render_config_needs_nothing() {
        RenderConfig::from_lookup(&env(&[])).unwrap();
        let f = filing(&env(&[])).unwrap();
        assert!(matches!(f.from_person, FromPerson::Email(ref e) if e.ends_with(".invalid")));
    }
}
