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
    s = sub.add_parser("secret")
    s.add_argument("--value", required=True)
    s.add_argument("--missing", action="store_true", help="create nothing; print an ARN that does not exist")
    args = ap.parse_args()

    events, sm = clients(args.endpoint, args.region)
    name = args.name or f"{args.kind}-{uuid.uuid4().hex[:8]}"
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
