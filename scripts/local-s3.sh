#!/usr/bin/env bash
# Starts moto's S3-compatible server on 127.0.0.1:${MOTO_PORT:-5000} (in the background) and uploads
# the bundled samples to s3://audit-relay-local/AWSLogs/..., the bucket and keys the invoke payloads
# in functions/cloudtrail-s3/events/ name; creates audit-relay-state for dead letters and
# checkpoints. Stop the server with: kill $(cat .venv/moto.pid)
# With --upload-only, only uploads (to a server already running on MOTO_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
port=${MOTO_PORT:-5000}
if [ "${1:-}" != "--upload-only" ]; then
  moto_server -H 127.0.0.1 -p "$port" > .venv/moto.log 2>&1 &
  echo $! > .venv/moto.pid
  for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
fi
python3 - "$port" <<'PY'
import boto3, glob, os, sys
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
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
if [ "${1:-}" != "--upload-only" ]; then
  echo "moto S3 on http://127.0.0.1:$port (pid $(cat .venv/moto.pid))"
fi
