"""The EventBridge-valid Outseta connection recipe, end to end: the real
notifier, mock-auth and mock-api under `cargo lambda watch`, the connection
created through moto's EventBridge CreateConnection (scripts/moto_seed.py
`outseta`).

Outseta wants `Authorization: Outseta KEY:SECRET`, but EventBridge's API model
forbids `:` in an API key's value (ApiKeyValue's pattern excludes it). The
recipe: an API_KEY connection whose own key is a colon-free placeholder,
ApiKeyName `X-Outseta-Connection` / ApiKeyValue `header-parameter`, and the
real credential as an invocation header parameter `Authorization` =
`Outseta KEY:SECRET` with IsValueSecret true (a header value may hold `:`).

How moto stores it: CreateConnection merges the AuthParameters' inner objects
into one dict, keeps `InvocationHttpParameters` as its own key, turns every
key from CamelCase to snake_case (CamelToUnderscoresWalker) and writes it as
the `events!connection/<name>/<uuid>/auth` secret, values in clear (the
secret flag is kept, not applied):

    {"api_key_name": "X-Outseta-Connection", "api_key_value": "header-parameter",
     "invocation_http_parameters": {"header_parameters": [
        {"key": "Authorization", "value": "Outseta KEY:SECRET", "is_value_secret": true}]}}

That is the layout EventBridge itself writes, and the one the notifier
reads. moto does not enforce the API model's patterns; moto_seed.py checks
them against botocore's copy of the model before CreateConnection.
"""

import os

import pytest

from localrun import http
from support import load_event

EVENT = load_event("catch-lambda.json")
KEY = "RECIPEKEY"


def outseta(svc, key, secret):
    return svc.seed("outseta", "--key", key, "--secret", secret)["secretArn"]


def cases(svc, authorization):
    status, _, body = http("GET", svc.cases_url(), headers={"Authorization": authorization})
    assert status == 200, f"mock-api refused {authorization.split(':')[0]}:…: HTTP {status} {body}"
    return body


def test_moto_stores_the_recipe_as_eventbridge_writes_it(svc):
    secret = "S-" + os.urandom(6).hex()
    arn = outseta(svc, KEY, secret)
    assert "events!connection/" in arn
    assert svc.secret_json(arn) == {
        "api_key_name": "X-Outseta-Connection",
        "api_key_value": "header-parameter",
        "invocation_http_parameters": {
            "header_parameters": [{"key": "Authorization", "value": f"Outseta {KEY}:{secret}", "is_value_secret": True}]
        },
    }


def test_the_api_model_refuses_the_colon_only_in_the_api_key_value(svc):
    """Why the recipe exists: the plain layout is what EventBridge refuses."""
    with pytest.raises(RuntimeError, match=r"ApiKeyAuthParameters\.ApiKeyValue does not match"):
        svc.seed("--strict", "apikey", "--key-name", "Authorization", "--key-value", f"Outseta {KEY}:S")
    # The same credential in a header parameter passes the same check.
    svc.seed(
        "--strict",
        "apikey",
        "--key-name",
        "X-Outseta-Connection",
        "--key-value",
        "header-parameter",
        "--header",
        f"Authorization=Outseta {KEY}:S",
    )


def test_recipe_connection_files_exactly_one_case(svc):
    secret = "RecipeSecret-" + os.urandom(6).hex()
    arn = outseta(svc, KEY, secret)
    svc.start_watch(arn, {"API_KEY": KEY, "API_SECRET": secret})

    status, _, out = svc.invoke("notifier", EVENT)
    assert status == 200, out
    assert out["attempts"] == 1, out
    held = cases(svc, f"Outseta {KEY}:{secret}")
    assert [c["Uid"] for c in held] == [out["caseUid"]], "expected exactly the one case the notifier reported"
    assert held[0]["Subject"] == "[Step Functions] order-pipeline: PaymentDeclined in ChargeCard"

    # mock-api checks the exact header: the placeholder key, a wrong secret
    # or the key alone are all refused.
    for refused in ({"X-Outseta-Connection": "header-parameter"}, {"Authorization": f"Outseta {KEY}:wrong"}):
        status, _, body = http("GET", svc.cases_url(), headers=refused)
        assert status == 401, f"mock-api accepted {list(refused)}: {body}"
    text = svc.log_text()
    assert secret not in text, "the secret header parameter reached a log line"


def test_wrong_secret_in_the_header_parameter_is_an_auth_error(svc):
    secret = "RightSecret-" + os.urandom(6).hex()
    arn = outseta(svc, KEY, "WrongSecret-" + os.urandom(6).hex())
    svc.start_watch(arn, {"API_KEY": KEY, "API_SECRET": secret})

    status, _, out = svc.invoke("notifier", EVENT)
    assert status == 500, out
    assert out["errorType"] == "AuthError", out
    assert "/api/v1/support/cases" in out["errorMessage"], "the AuthError does not name the endpoint that refused"
    assert "WrongSecret-" not in str(out), "the error leaks the secret"
    assert cases(svc, f"Outseta {KEY}:{secret}") == [], "a case was filed with a refused credential"
    assert "WrongSecret-" not in svc.log_text(), "the secret header parameter reached a log line"
