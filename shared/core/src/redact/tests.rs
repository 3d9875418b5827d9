use super::*;
use serde_json::json;

#[test]
fn masks_sensitive_keys_at_any_depth_whatever_the_spelling() {
    let r = Redactor::default();
    let v = json!({
        "user": "ann",
        "Password": "p1",
        "nested": {"list": [{"api-key": "k1"}, {"X_Api_Key": "k2"}], "clientSecret": "c1"},
        "Authorization": "Bearer abc",
        "accessToken": {"deep": "t1"},
        "privateKey": "pem",
        "db_credentials": ["a", "b"],
        "empty": null,
    });
    let out = r.json(&v);
    let text = out.to_string();
    for leaked in ["p1", "k1", "k2", "c1", "abc", "t1", "pem", "\"a\""] {
        assert!(!text.contains(leaked), "{leaked} leaked in {text}");
    }
    assert_eq!(out["user"], "ann");
    assert_eq!(out["nested"]["clientSecret"], MASK);
    assert_eq!(out["nested"]["list"][1]["X_Api_Key"], MASK);
    assert_eq!(out["empty"], Value::Null);
}

#[test]
fn extra_keys_extend_the_list() {
    let r = Redactor::new(["ssn", "Card-Number"]);
    let out = r.json(&json!({"SSN": "123", "cardNumber": "4111", "name": "x"}));
    assert_eq!(out, json!({"SSN": MASK, "cardNumber": MASK, "name": "x"}));
}

#[test]
fn masks_credentials_inside_text() {
    let r = Redactor::default();
    let s = r.text("call failed: Authorization: Bearer eyJhbGciOi.J9xyz_1 at host");
    assert!(!s.contains("eyJhbGciOi"), "{s}");
    assert!(s.contains("Bearer [REDACTED]"), "{s}");
    let s = r.text("header was 'Basic dXNlcjpwYXNz' and Outseta KEY123:SECRET456");
    assert!(
        !s.contains("dXNlcjpwYXNz") && !s.contains("SECRET456"),
        "{s}"
    );
    let s = r.text("https://x/y?password=hunter2&user=bob; {\"client_secret\": \"s3cr3t\"}");
    assert!(!s.contains("hunter2") && !s.contains("s3cr3t"), "{s}");
    assert!(s.contains("user=bob"), "{s}");
}

#[test]
fn whitespace_two_word_keys_and_masks_twice() {
    let r = Redactor::default();
    for text in [
        "password:\tS3cret-1",
        "password:\nS3cret-1",
        "password\t=\tS3cret-1",
        "api key: S3cret-1",
        "client secret = S3cret-1",
    ] {
        assert!(
            !r.text(text).contains("S3cret-1"),
            "{text:?} -> {}",
            r.text(text)
        );
    }
    for text in [
        "password=[REDACTED]",
        "\"token\": \"[REDACTED]\"",
        "Bearer [REDACTED]",
    ] {
        assert_eq!(r.text(text), text);
    }
    assert_eq!(r.text("the key: value"), "the key: value");
}

#[test]
fn leaves_prose_alone() {
    let r = Redactor::default();
    let prose = "basic authentication failed; the bearer of bad news; Service: Lambda";
    assert_eq!(r.text(prose), prose);
    // ECS's CannotPullContainerError, in containerd's wording.
    let ecs = "CannotPullContainerError: pull access denied, repository does not exist or \
               may require authorization: server message: insufficient_scope: \
               authorization failed";
    assert_eq!(r.text(ecs), ecs);
    let failed = "Authorization failed: access denied for the role";
    assert_eq!(r.text(failed), failed);
}

#[test]
fn authorization_values_that_are_not_prose_stay_masked() {
    let r = Redactor::default();
    for (text, gone) in [
        (
            "Authorization: c2VjcmV0OnZhbHVl at host",
            "c2VjcmV0OnZhbHVl",
        ),
        ("authorization: abcdefghijklmnopq next", "abcdefghijklmnopq"),
        ("authorization: hunter2 then", "hunter2"),
        ("authorization: server", "server"),
        ("authorization: \"server message\"", "server"),
        ("Proxy-Authorization: Token9xYz more", "Token9xYz"),
        ("Authorization: Bearer sesame12 then", "sesame12"),
        ("Authorization failed: sesame12 then", "sesame12"),
        ("password: authorization: hunter22", "hunter22"),
    ] {
        let out = r.text(text);
        assert!(!out.contains(gone), "{text} -> {out}");
        assert!(out.contains(MASK), "{text} -> {out}");
    }
}

#[test]
fn masks_known_secret_values_verbatim() {
    let r = Redactor::default().with_known_secrets(["CanaryValue", "ab"]);
    assert_eq!(r.text("echo CanaryValue back"), "echo [REDACTED] back");
    assert_eq!(
        r.text("ab stays: too short to mask"),
        "ab stays: too short to mask"
    );
    let out = r.json(&json!({"note": "CanaryValue"}));
    assert_eq!(out["note"], MASK);
}

#[test]
fn the_gate_masks_what_it_learnt_and_cuts_visibly() {
    let gate = Gate::new(Redactor::default());
    let copy = gate.clone();
    assert_eq!(
        gate.seal("echo CanaryValue", 100).as_str(),
        "echo CanaryValue"
    );
    copy.learn(["CanaryValue", "ab"]);
    assert_eq!(
        gate.seal("echo CanaryValue", 100).as_str(),
        "echo [REDACTED]"
    );
    assert_eq!(gate.known(), 1);
    let long = "x".repeat(1000);
    let sealed = gate.seal(&long, 200);
    assert!(
        sealed.as_str().ends_with("[truncated: 848 more bytes]"),
        "{sealed}"
    );
    assert!(serde_json::to_string(sealed.as_str()).unwrap().len() <= 200 + 2);
    // Escapes count: a line of quotes doubles when written as JSON.
    let quotes = "\"".repeat(1000);
    let sealed = gate.seal(&quotes, 300);
    assert!(serde_json::to_string(sealed.as_str()).unwrap().len() <= 300 + 2);
    let v = serde_json::json!({"password": "p", "note": "CanaryValue"});
    assert_eq!(
        gate.seal_json(&v, 1000).as_str(),
        r#"{"note":"[REDACTED]","password":"[REDACTED]"}"#
    );
    for i in 0..(KNOWN_MAX + 5) {
        gate.learn([format!("token-{i:04}").as_str()]);
    }
    assert_eq!(gate.known(), KNOWN_MAX);
}

/// A warm container whose OAuth token rotates 100 times (each rotation
/// teaches the gate the token and its header value): the connection's own
/// secrets stay masked throughout, and the latest tokens with them.
#[test]
fn pinned_connection_secrets_outlive_any_number_of_token_rotations() {
    let gate = Gate::new(Redactor::default());
    gate.pin(["CanaryClientSecret4402", "Outseta CanaryKey:CanarySecret"]);
    for i in 0..100 {
        let token = format!("CanaryToken{i:04}");
        gate.learn([token.as_str(), format!("Bearer {token}").as_str()]);
        let line = format!("echo CanaryClientSecret4402 {token} Outseta CanaryKey:CanarySecret");
        let sealed = gate.seal(&line, 1000);
        assert!(
            !sealed.as_str().contains("Canary"),
            "rotation {i}: {sealed}"
        );
    }
    assert_eq!(gate.known(), 2 + KNOWN_MAX);
    // A rotated connection: its new values are pinned, the old ones are
    // still masked for a while, as rotating credentials.
    gate.pin(["CanaryClientSecretNew77"]);
    let sealed = gate.seal("CanaryClientSecretNew77 CanaryClientSecret4402", 1000);
    assert_eq!(sealed.as_str(), "[REDACTED] [REDACTED]");
}

#[test]
fn never_panics_on_odd_text() {
    let r = Redactor::default();
    for s in [
        "",
        "token",
        "token=",
        "token:\"",
        "Bearer",
        "Bearer ",
        "é token=é ünï",
        "password='x",
    ] {
        let _ = r.text(s);
    }
    assert_eq!(r.text("token=é"), "token=[REDACTED]");
    let arn = "arn:aws:secretsmanager:us-east-1:1:secret:events!connection/x/y-AbC";
    assert_eq!(r.text(arn), arn);
}
