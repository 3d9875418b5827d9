#!/usr/bin/env python3
"""Seeds a moto server with connection secrets, the way EventBridge writes them.

Connections go through moto's EventBridge CreateConnection, which writes the
`events!connection/...` secret itself, so the notifier's parser is tested
against a layout nobody in this repo wrote. Plain secrets (for broken layouts)
go straight to Secrets Manager. Prints one JSON object: secretArn (and
connectionArn for connections).

Kinds of connection:
  outseta  Outseta's API key the way EventBridge accepts it (the recipe that
           `make demo --auth apikey` and `make dev` use): an API_KEY
           connection whose own key is a colon-free placeholder
           (`X-Outseta-Connection: header-parameter`), with the credential
           `Authorization: Outseta KEY:SECRET` as a secret invocation header.
           EventBridge's API forbids `:` in ApiKeyValue but allows it in a
           header parameter's value.
  apikey   any ApiKeyName/ApiKeyValue (moto, unlike EventBridge, accepts a
           `:` in the value; pass --strict to be refused as EventBridge would)
  basic, oauth

moto does not check the API model's value patterns, so connections are
checked here against botocore's copy of the model: always for `outseta`, and
for the others with --strict.

boto3 rather than the AWS CLI: CLI v1 tries to download URL-valued parameters.
"""

import argparse
import json
import re
import sys
import uuid

import boto3
import botocore.session

OUTSETA_KEY_NAME = "X-Outseta-Connection"
OUTSETA_KEY_VALUE = "header-parameter"


def params(pairs, secret):
    out = []
    for p in pairs or []:
        key, _, value = p.partition("=")
        out.append({"Key": key, "Value": value, "IsValueSecret": secret})
    return out


def model_errors(auth_type, auth):
    """What EventBridge's CreateConnection would refuse in these parameters:
    values that break a pattern or length of the API model botocore ships.
    Names the parameter, never its value (it may be a secret)."""
    model = botocore.session.get_session().get_service_model("events")
    shape = model.operation_model("CreateConnection").input_shape
    errors = []

    def walk(shape, value, where):
        if shape.type_name == "structure" and isinstance(value, dict):
            for k, v in value.items():
                if k in shape.members:
                    walk(shape.members[k], v, f"{where}.{k}")
        elif shape.type_name == "list" and isinstance(value, list):
            for i, v in enumerate(value):
                walk(shape.member, v, f"{where}[{i}]")
        elif shape.type_name == "string" and isinstance(value, str):
            meta = shape.metadata
            if "pattern" in meta and not re.search(meta["pattern"], value):
                errors.append(f"{where} does not match the API model's pattern {meta['pattern']}")
            if len(value) < meta.get("min", 0) or len(value) > meta.get("max", len(value)):
                errors.append(f"{where} is not {meta.get('min', 0)} to {meta.get('max')} characters")

    walk(shape, {"AuthorizationType": auth_type, "AuthParameters": auth}, "CreateConnection")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--name", default=None)
    ap.add_argument("--strict", action="store_true", help="refuse what EventBridge's API model refuses")
    sub = ap.add_subparsers(dest="kind", required=True)
    out = sub.add_parser("outseta", help="the EventBridge-valid Outseta recipe (see above)")
    out.add_argument("--key", required=True, help="Outseta API key")
    out.add_argument("--secret", required=True, help="Outseta API secret")
    k = sub.add_parser("apikey")
    k.add_argument("--key-name", required=True)
    k.add_argument("--key-value", required=True)
    b = sub.add_parser("basic")
    b.add_argument("--username", required=True)
    b.add_argument("--password", required=True)
    o = sub.add_parser("oauth")
    o.add_argument("--token-url", required=True)
    o.add_argument("--client-id", required=True)
    o.add_argument("--client-secret", required=True)
    o.add_argument("--method", default="POST")
    o.add_argument("--oauth-body", action="append", help="KEY=VALUE sent to the token endpoint")
    for p in (out, k, b, o):
        p.add_argument("--header", action="append", help="KEY=VALUE invocation header (secret)")
        p.add_argument("--query", action="append", help="KEY=VALUE invocation query parameter")
        p.add_argument("--body", action="append", help="KEY=VALUE invocation body key")
    t = sub.add_parser("table", help="an idempotency table as infra creates it")
    t.add_argument("--ttl-attribute", default="expiration")
    sub.add_parser("topic", help="an SNS topic with an SQS queue subscribed, to read what was published")
    dr = sub.add_parser("drain", help="print (and delete) the messages in a queue")
    dr.add_argument("--queue-url", required=True)
    s = sub.add_parser("secret")
    s.add_argument("--value", required=True)
    s.add_argument("--missing", action="store_true", help="create nothing; print an ARN that does not exist")
    args = ap.parse_args()

    name = args.name or f"{args.kind}-{uuid.uuid4().hex[:8]}"
    kw = {
        "endpoint_url": args.endpoint,
        "region_name": args.region,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    events, sm = boto3.client("events", **kw), boto3.client("secretsmanager", **kw)
    if args.kind == "table":
        ddb = boto3.client("dynamodb", **kw)
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": args.ttl_attribute}
        )
        print(json.dumps({"tableName": name}))
        return
    if args.kind == "topic":
        sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
        topic = sns.create_topic(Name=name)["TopicArn"]
        queue = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        print(json.dumps({"topicArn": topic, "queueUrl": queue}))
        return
    if args.kind == "drain":
        sqs = boto3.client("sqs", **kw)
        drained = []
        while True:
            r = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            msgs = r.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                body = json.loads(m["Body"])
                drained.append({"subject": body.get("Subject"), "message": json.loads(body["Message"])})
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=m["ReceiptHandle"])
        print(json.dumps(drained))
        return
    if args.kind == "secret":
        if args.missing:
            print(json.dumps({"secretArn": f"arn:aws:secretsmanager:{args.region}:123456789012:secret:{name}-AbCdEf"}))
            return
        r = sm.create_secret(Name=name, SecretString=args.value)
        print(json.dumps({"secretArn": r["ARN"]}))
        return

    auth = {}
    invocation = {}
    headers = params(args.header, True)
    if args.kind == "outseta":
        headers.insert(0, {"Key": "Authorization", "Value": f"Outseta {args.key}:{args.secret}", "IsValueSecret": True})
    if headers:
        invocation["HeaderParameters"] = headers
    if args.query:
        invocation["QueryStringParameters"] = params(args.query, False)
    if args.body:
        invocation["BodyParameters"] = params(args.body, False)
    if args.kind in ("apikey", "outseta"):
        kind = "API_KEY"
        if args.kind == "outseta":
            auth["ApiKeyAuthParameters"] = {"ApiKeyName": OUTSETA_KEY_NAME, "ApiKeyValue": OUTSETA_KEY_VALUE}
        else:
            auth["ApiKeyAuthParameters"] = {"ApiKeyName": args.key_name, "ApiKeyValue": args.key_value}
    elif args.kind == "basic":
        kind = "BASIC"
        auth["BasicAuthParameters"] = {"Username": args.username, "Password": args.password}
    else:
        kind = "OAUTH_CLIENT_CREDENTIALS"
        oauth = {
            "ClientParameters": {"ClientID": args.client_id, "ClientSecret": args.client_secret},
            "AuthorizationEndpoint": args.token_url,
            "HttpMethod": args.method,
        }
        if args.oauth_body:
            oauth["OAuthHttpParameters"] = {"BodyParameters": params(args.oauth_body, False)}
        auth["OAuthParameters"] = oauth
    if invocation:
        auth["InvocationHttpParameters"] = invocation
    if args.strict or args.kind == "outseta":
        errors = model_errors(kind, auth)
        if errors:
            raise ValueError("EventBridge would refuse this connection: " + "; ".join(errors))
    r = events.create_connection(Name=name, AuthorizationType=kind, AuthParameters=auth)
    d = events.describe_connection(Name=name)
    print(json.dumps({"connectionArn": r["ConnectionArn"], "secretArn": d["SecretArn"]}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line for the calling test or script
        print(f"moto_seed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
