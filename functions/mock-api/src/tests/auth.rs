//! Authentication in every mode, and the bearer tokens that must be refused.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mock_kit::testing::basic;

#[tokio::test]
async fn valid_bearer_token_creates_a_case() {
    assert_created(&create_with(&state(), &bearer()).await);
}

#[tokio::test]
async fn outseta_key_and_secret() {
    assert_created(&create_with(&state(), "Outseta api-key:api-secret").await);
    assert_unauthorised(&create_with(&state(), "Outseta api-key:wrong").await);
    assert_unauthorised(&create_with(&state(), "Outseta wrong:api-secret").await);
    assert_unauthorised(&create_with(&state(), "Outseta api-key").await);
}

#[tokio::test]
async fn basic_user_and_password() {
    assert_created(&create_with(&state(), &basic("user", "p@ss:word")).await);
    assert_unauthorised(&create_with(&state(), &basic("user", "wrong")).await);
    assert_unauthorised(&create_with(&state(), "Basic %%%").await);
}

#[tokio::test]
async fn no_auth_is_401_with_a_challenge_per_enabled_scheme() {
    let state = state();
    let req = request("POST", CREATE, &[], &valid_case().to_string());
    let response = handle(&state, req).await;
    assert_unauthorised(&response);
    assert_eq!(
        response.headers().get_all(WWW_AUTHENTICATE).iter().count(),
        1,
        "one header: Function URLs keep one value per name"
    );
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="mock-api", Outseta realm="mock-api", Basic realm="mock-api""#
    );
    assert!(
        state.cases.list().is_empty(),
        "a refused case must not be stored"
    );
}

#[tokio::test]
async fn unsupported_scheme_and_disabled_modes_are_refused() {
    assert_unauthorised(&create_with(&state(), "Digest abc").await);
    let bearer_only = state_with(Config {
        outseta: None,
        basic: None,
        ..config()
    });
    assert_unauthorised(&create_with(&bearer_only, "Outseta api-key:api-secret").await);
    assert_unauthorised(&create_with(&bearer_only, &basic("user", "p@ss:word")).await);
    let no_bearer = state_with(Config {
        signing_key: None,
        ..config()
    });
    assert_unauthorised(&create_with(&no_bearer, &bearer()).await);
}

#[tokio::test]
async fn proxy_mode_answers_407_and_reads_proxy_authorization() {
    let state = proxy_state();
    let req = request("POST", CREATE, &[], &valid_case().to_string());
    let response = handle(&state, req).await;
    assert_eq!(response.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);
    assert_eq!(body_json(&response), json!({ "Message": "Unauthorized" }));
    assert!(response.headers().contains_key(PROXY_AUTHENTICATE));
    assert!(!response.headers().contains_key(WWW_AUTHENTICATE));

    let token = bearer();
    let req = request(
        "POST",
        CREATE,
        &[("proxy-authorization", &token)],
        &valid_case().to_string(),
    );
    assert_created(&handle(&state, req).await);
    assert_created(&create_with(&state, &token).await);
}

#[tokio::test]
async fn proxy_authorization_is_ignored_outside_proxy_mode() {
    let req = request(
        "POST",
        CREATE,
        &[("proxy-authorization", &bearer())],
        &valid_case().to_string(),
    );
    assert_unauthorised(&handle(&state(), req).await);
}

// ---- bearer tokens that must be refused ----

#[tokio::test]
async fn tampered_token_is_refused() {
    let token = mock_kit::issue(KEY, NOW, 300).token;
    let (payload, signature) = token.split_once('.').expect("two parts");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    claims["exp"] = json!(NOW + 999_999);
    let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    assert_unauthorised(&create_with(&state(), &format!("Bearer {forged}")).await);
}

#[tokio::test]
async fn expired_token_is_refused() {
    let token = mock_kit::issue(KEY, NOW - 301, 300).token;
    assert_unauthorised(&create_with(&state(), &format!("Bearer {token}")).await);
}

#[tokio::test]
async fn wrong_key_token_is_refused() {
    let token = mock_kit::issue(b"some-other-key", NOW, 300).token;
    assert_unauthorised(&create_with(&state(), &format!("Bearer {token}")).await);
}

#[tokio::test]
async fn future_dated_token_is_refused() {
    let far = bearer_issued_at(NOW + mock_kit::CLOCK_SKEW_SECS + 1);
    assert_unauthorised(&create_with(&state(), &far).await);
    let within_skew = bearer_issued_at(NOW + 30);
    assert_created(&create_with(&state(), &within_skew).await);
}

#[tokio::test]
async fn env_cutoff_revokes_older_tokens_only() {
    let state = state_with(Config {
        revoke_before: Some(NOW - 5),
        ..config()
    });
    assert_unauthorised(&create_with(&state, &bearer_issued_at(NOW - 6)).await);
    assert_created(&create_with(&state, &bearer_issued_at(NOW - 5)).await);
}

#[tokio::test]
async fn header_cutoff_revokes_and_the_later_cutoff_wins() {
    let send = |state: State, cutoff: &'static str, token: String| async move {
        let req = request(
            "POST",
            CREATE,
            &[("authorization", &token), ("x-mock-revoke-before", cutoff)],
            &valid_case().to_string(),
        );
        handle(&state, req).await
    };
    let cutoff = "1699999990"; // NOW - 10
    assert_unauthorised(&send(state(), cutoff, bearer_issued_at(NOW - 11)).await);
    assert_created(&send(state(), cutoff, bearer_issued_at(NOW - 10)).await);

    // Env cut-off later than the header's: the env one applies.
    let env_later = || {
        state_with(Config {
            revoke_before: Some(NOW - 2),
            ..config()
        })
    };
    assert_unauthorised(&send(env_later(), cutoff, bearer_issued_at(NOW - 5)).await);
    // Header cut-off later than the env's: the header one applies.
    let env_earlier = state_with(Config {
        revoke_before: Some(NOW - 100),
        ..config()
    });
    assert_unauthorised(&send(env_earlier, cutoff, bearer_issued_at(NOW - 50)).await);
}

#[tokio::test]
async fn revoked_token_in_proxy_mode_is_407() {
    let req = request(
        "POST",
        CREATE,
        &[
            ("proxy-authorization", &bearer_issued_at(NOW - 20)),
            ("x-mock-revoke-before", "1700000000"),
        ],
        &valid_case().to_string(),
    );
    let response = handle(&proxy_state(), req).await;
    assert_eq!(response.status(), StatusCode::PROXY_AUTHENTICATION_REQUIRED);
}
