#!/usr/bin/env python3
"""Runs the partition query of every stream in infra/security-lake.yaml (Firehose's dynamic
partitioning: JQ over each record) on the OCSF events read from standard input (NDJSON, e.g.
`audit-relay normalize` of the samples), and checks each event lands where Security Lake wants it:
region= its cloud.region (else the stack's region), accountId= its cloud.account.uid (else the
ExternalAccountId parameter), eventDay= the UTC day of its time (YYYYMMDD). Also checks each stream
writes under ext/<its custom source>/ with the three partition keys, and reads its own class's
Glue table. Needs the `jq` and `cfn-lint` packages (scripts/venv.sh)."""
import datetime
import json
import re
import sys

import jq
from cfnlint.decode import decode

TEMPLATE = "infra/security-lake.yaml"
REGION = "eu-central-1"
EXTERNAL = "external"
PARTITIONS = ("region=!{partitionKeyFromQuery:region}/accountId=!{partitionKeyFromQuery:accountId}/"
              "eventDay=!{partitionKeyFromQuery:eventDay}/")


def fail(message):
    print(f"check-security-lake: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    template, matches = decode(TEMPLATE)
    if template is None:
        fail(f"{TEMPLATE} does not parse: {matches}")
    defaults = {"ExternalAccountId": template["Parameters"]["ExternalAccountId"]["Default"]}
    if defaults["ExternalAccountId"] != EXTERNAL:
        fail(f"ExternalAccountId defaults to {defaults['ExternalAccountId']}, not {EXTERNAL}")
    resources = template["Resources"]
    streams = {name: r for name, r in resources.items() if r["Type"] == "AWS::KinesisFirehose::DeliveryStream"}
    tables = {name: r for name, r in resources.items() if r["Type"] == "AWS::Glue::Table"}
    if not streams or len(streams) != len(tables):
        fail(f"{len(streams)} streams and {len(tables)} Glue tables")

    events = [json.loads(line) for line in sys.stdin if line.strip()]
    if len(events) < 50:
        fail(f"only {len(events)} events on standard input")
    with_cloud = sum(1 for e in events if (e.get("cloud") or {}).get("account", {}).get("uid"))
    if with_cloud == 0 or with_cloud == len(events):
        fail(f"{with_cloud} of {len(events)} events have cloud.account.uid: the sample needs both kinds")

    for name, stream in sorted(streams.items()):
        class_id = name[: -len("Stream")]
        s3 = stream["Properties"]["ExtendedS3DestinationConfiguration"]
        if s3["DataFormatConversionConfiguration"]["SchemaConfiguration"]["TableName"] != {"Ref": f"{class_id}Table"}:
            fail(f"{name} reads another table's schema")
        for branch in s3["Prefix"]["Fn::If"][1:]:
            prefix = branch["Fn::Sub"]
            if not prefix.startswith(f"ext/${{{class_id}Source}}/") or not prefix.endswith(PARTITIONS):
                fail(f"{name} writes to {prefix}")
        parameters = {p["ParameterName"]: p["ParameterValue"]
                      for p in s3["ProcessingConfiguration"]["Processors"][0]["Parameters"]}
        if parameters.get("JsonParsingEngine") != "JQ-1.6":
            fail(f"{name}: parsing engine {parameters.get('JsonParsingEngine')}")
        query = parameters["MetadataExtractionQuery"]["Fn::Sub"]
        query = query.replace("${AWS::Region}", REGION).replace("${ExternalAccountId}", EXTERNAL)
        if "${" in query:
            fail(f"{name}: unresolved {query}")
        program = jq.compile(query)
        for event in events:
            keys = program.input_value(event).first()
            cloud = event.get("cloud") or {}
            day = datetime.datetime.fromtimestamp(event["time"] / 1000, datetime.timezone.utc).strftime("%Y%m%d")
            expected = {
                "region": cloud.get("region") or REGION,
                "accountId": (cloud.get("account") or {}).get("uid") or EXTERNAL,
                "eventDay": day,
            }
            if keys != expected:
                fail(f"{name}: {keys} for an event that should land at {expected}: {json.dumps(event)[:300]}")
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", keys["region"]):
                fail(f"{name}: region={keys['region']}")
            if not re.fullmatch(r"[0-9]{12}|external(_[A-Za-z0-9-]+)?", keys["accountId"]):
                fail(f"{name}: accountId={keys['accountId']}")
    print(f"check-security-lake: {len(streams)} streams place {len(events)} events "
          f"({with_cloud} with an AWS account) as Security Lake wants")


main()
