#!/usr/bin/env python3
"""Seeds a moto server with connection secrets, the way EventBridge writes them.

Connections go through moto's EventBridge CreateConnection, which writes the
`events!connection/...` secret itself, so the notifier's parser is tested
against a layout nobody in this repo wrote. Plain secrets (for broken layouts)
go straight to Secrets Manager. Prints one JSON object: secretArn (and
connectionArn for connections).

boto3 rather than the AWS CLI: CLI v1 tries to download URL-valued parameters.
"""
import argparse
import json
import sys
import uuid

import boto3


def clients(endpoint, region):
    kw = dict(endpoint_url=endpoint, region_name=region,
              aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client("events", **kw), boto3.client("secretsmanager", **kw)


def params(pairs, secret):
    out = []
    for p in pairs or []:
        key, _, value = p.partition("=")
        out.append({"Key": key, "Value": value, "IsValueSecret": secret})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--name", default=None)
    sub = ap.add_subparsers(dest="kind", required=True)
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
    for p in (k, b, o):
        p.add_argument("--header", action="append", help="KEY=VALUE invocation header (secret)")
        p.add_argument("--query", action="append", help="KEY=VALUE invocation query parameter")
        p.add_argument("--body", action="append", help="KEY=VALUE invocation body key")
    t = sub.add_parser("table", help="an idempotency table as infra creates it")
    t.add_argument("--ttl-attribute", default="expiration")
    tp = sub.add_parser("topic", help="an SNS topic with an SQS queue subscribed, to read what was published")
    dr = sub.add_parser("drain", help="print (and delete) the messages in a queue")
    dr.add_argument("--queue-url", required=True)
    s = sub.add_parser("secret")
    s.add_argument("--value", required=True)
    s.add_argument("--missing", action="store_true", help="create nothing; print an ARN that does not exist")
    args = ap.parse_args()

    events, sm = clients(args.endpoint, args.region)
    name = args.name or f"{args.kind}-{uuid.uuid4().hex[:8]}"
    kw = dict(endpoint_url=args.endpoint, region_name=args.region,
              aws_access_key_id="test", aws_secret_access_key="test")
    if args.kind == "table":
        ddb = boto3.client("dynamodb", **kw)
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": args.ttl_attribute})
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
        out = []
        while True:
            r = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            msgs = r.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                body = json.loads(m["Body"])
                out.append({"subject": body.get("Subject"), "message": json.loads(body["Message"])})
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=m["ReceiptHandle"])
        print(json.dumps(out))
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
    if args.header:
        invocation["HeaderParameters"] = params(args.header, True)
    if args.query:
        invocation["QueryStringParameters"] = params(args.query, False)
    if args.body:
        invocation["BodyParameters"] = params(args.body, False)
    if args.kind == "apikey":
        kind = "API_KEY"
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
    r = events.create_connection(Name=name, AuthorizationType=kind, AuthParameters=auth)
    d = events.describe_connection(Name=name)
    print(json.dumps({"connectionArn": r["ConnectionArn"], "secretArn": d["SecretArn"]}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line for the calling test or script
        print(f"moto_seed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
