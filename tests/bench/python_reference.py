"""What a Python forwarder does with a CloudTrail file: inflate it whole, json.loads the document,
build a dict per record, json.dumps each event. The benchmark's reference point, not a product."""
import gzip
import json
import sys


def main(path):
    with gzip.open(path, "rb") as f:
        document = json.loads(f.read())
    out = open("/dev/null", "w")
    for record in document["Records"]:
        event = {
            "class_uid": 6003,
            "time": record.get("eventTime"),
            "metadata": {"uid": record.get("eventID"), "product": {"name": "CloudTrail", "vendor_name": "AWS"}},
            "api": {"operation": record.get("eventName"), "service": {"name": record.get("eventSource")}},
            "actor": {"user": record.get("userIdentity")},
            "src_endpoint": {"ip": record.get("sourceIPAddress")},
            "unmapped": {k: v for k, v in record.items() if k not in ("eventTime", "eventID", "eventName")},
        }
        out.write(json.dumps(event))
        out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
