"""The EMF metrics documents the real notifier writes under `cargo lambda
watch` (issue 23): one per invocation, beside its log line, with the
contract's names. A filed case counts CasesFiled 1, its redelivered copy
Duplicates 1, and a ticket the desk will not take NotDelivered 1 and, its
ticket published to the fallback topic (SNS on moto), FallbackPublished 1."""

import os

KEY = "METRICSKEY"
COUNTS = (
    "CasesFiled",
    "RepliesPosted",
    "RepliesCoalesced",
    "Duplicates",
    "Muted",
    "FallbackPublished",
    "NotDelivered",
    "HistoryUnavailable",
)


def documents(svc):
    return [r for r in svc.log_records() if "_aws" in r]


def counted(doc):
    return {name: doc[name] for name in COUNTS if doc.get(name)}


def failure(run):
    return {
        "error": {"Error": "States.TaskFailed", "Cause": "boom"},
        "execution": f"arn:aws:states:us-east-1:123456789012:execution:metered:{run}",
        "stateMachine": "metered",
        "failedState": "Charge",
    }


def test_each_invocation_writes_one_emf_document_with_its_counts(svc):
    secret = "MetricsSecret-" + os.urandom(6).hex()
    table = svc.seed("table")["tableName"]
    topic = svc.seed("topic")["topicArn"]
    arn = svc.seed("outseta", "--key", KEY, "--secret", secret)["secretArn"]
    env = {
        "API_KEY": KEY,
        "API_SECRET": secret,
        "IDEMPOTENCY_TABLE": table,
        "INCIDENT_GROUPING": "off",
        "FALLBACK_TOPIC_ARN": topic,
        "SECRET_CACHE_TTL_SECONDS": "0",
        "MAX_ATTEMPTS": "1",
        "METRICS_NAMESPACE": "TicketBridgeE2E",
    }
    svc.start_watch(arn, env)

    for event in (failure("run-1"), failure("run-1")):
        status, _, out = svc.invoke("notifier", event)
        assert status == 200, out
    # The desk refuses everything from here on (mock-api's fault header,
    # sent through the connection as EventBridge would).
    svc.set_invocation_header(arn, "X-Mock-Status", "503")
    status, _, out = svc.invoke("notifier", failure("run-2"))
    assert status != 200 or "errorType" in out, out

    docs = documents(svc)
    assert len(docs) == 3, docs
    filed, copy, lost = docs
    assert (filed["Outcome"], counted(filed)) == ("delivered", {"CasesFiled": 1}), filed
    assert (copy["Outcome"], counted(copy)) == ("duplicate", {"Duplicates": 1}), copy
    assert (lost["Outcome"], counted(lost)) == ("not_delivered", {"FallbackPublished": 1, "NotDelivered": 1}), lost
    for doc in docs:
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "TicketBridgeE2E"
        assert directive["Dimensions"] == [["Outcome"]]
        assert {m["Name"] for m in directive["Metrics"]} == {*COUNTS, "DeliveryMs", "Attempts"}
        assert isinstance(doc["DeliveryMs"], int) and isinstance(doc["Attempts"], int)
