#!/usr/bin/env bash
# Starts moto's S3-compatible server on 127.0.0.1:5000 (in the background) and uploads the bundled
# samples to s3://audit-relay-local/AWSLogs/..., the bucket and keys the invoke payloads in
# functions/cloudtrail-s3/events/ name. Stop the server with: kill $(cat .venv/moto.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/moto_server ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6' 'jsonschema>=4,<5'
fi
.venv/bin/moto_server -H 127.0.0.1 -p 5000 > .venv/moto.log 2>&1 &
echo $! > .venv/moto.pid
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/5000) 2>/dev/null && break; sleep 0.2; done
.venv/bin/python - <<'PY'
import boto3, glob, os
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:5000", region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket="audit-relay-local")
s3.create_bucket(Bucket="audit-relay-state")
for path in sorted(glob.glob("samples/cloudtrail/*.json.gz")):
    name = os.path.basename(path)
    folder = "CloudTrail-Insight" if "CloudTrail-Insight" in name else "CloudTrail"
    key = f"AWSLogs/111122223333/{folder}/us-east-1/2024/11/19/{name}"
    s3.upload_file(path, "audit-relay-local", key)
    print(f"uploaded s3://audit-relay-local/{key}")
PY
echo "moto S3 on http://127.0.0.1:5000 (pid $(cat .venv/moto.pid))"
