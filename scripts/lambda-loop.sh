#!/usr/bin/env bash
# The Lambda loop of the README, run and checked: moto's S3 with the bundled samples, a local
# Splunk-HEC-compatible receiver (scripts/hec_receiver.py), `cargo lambda watch` with
# SIEM_TYPE=splunk_hec, then `cargo lambda invoke` of the cloudtrail-s3 and opensearch-audit sample
# events. Passes when the receiver got every sample record exactly once (count and metadata.uid, the
# same set `audit-relay normalize` gives for the samples) and nothing was dead-lettered. Stops
# everything it started, also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

work=$(mktemp -d)
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    # cargo lambda watch runs the functions as its children: end the whole process group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] && [ -f "$work/watch.log" ]; then
    echo "--- cargo lambda watch log (last 40 lines) ---" >&2
    tail -n 40 "$work/watch.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for_port() {
  for _ in $(seq 600); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.5; done
  echo "nothing listens on 127.0.0.1:$1 after 300 s ($2)" >&2
  return 1
}
# Runs "$@" in its own process group, so cleanup can end it with all its children.
start() { set -m; "$@" & pids+=($!); set +m; }

moto_port=$(free_port)
hec_port=$(free_port)
lambda_port=$(free_port)
token="lambda-loop-hec-token"

start moto_server -H 127.0.0.1 -p "$moto_port" > "$work/moto.log" 2>&1
wait_for_port "$moto_port" moto_server
MOTO_PORT=$moto_port bash scripts/local-s3.sh --upload-only

start python3 scripts/hec_receiver.py --port "$hec_port" --token "$token" --out "$work/received.ndjson" 2> "$work/hec.log"
wait_for_port "$hec_port" hec_receiver

# Build first so that the watch serves a ready binary (and its output stays small).
cargo build --quiet --locked --workspace --bins
AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
AWS_REGION=us-east-1 DLQ_BUCKET=audit-relay-state EMF_METRICS=false \
SIEM_TYPE=splunk_hec SIEM_URL="http://127.0.0.1:$hec_port/services/collector/event" SIEM_TOKEN="$token" \
  start cargo lambda watch --ignore-changes --invoke-port "$lambda_port" > "$work/watch.log" 2>&1
wait_for_port "$lambda_port" "cargo lambda watch"

invoke() {
  local function=$1 payload=$2 expected=$3
  local response
  response=$(cargo lambda invoke "$function" --invoke-port "$lambda_port" --data-file "$payload" --output-format json)
  echo "$function $payload -> $response"
  python3 - "$response" "$expected" <<'PY'
import json, sys
response, expected = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for key, value in expected.items():
    if response.get(key) != value:
        sys.exit(f"response {key} = {response.get(key)!r}, expected {value!r}")
PY
}
invoke cloudtrail-s3 functions/cloudtrail-s3/events/sqs-batch.json '{"batchItemFailures": []}'
invoke opensearch-audit functions/opensearch-audit/events/data-message.json '{"dead_lettered": 0}'

# What the samples normalize to: the uids the receiver must have got, each once.
target/debug/audit-relay normalize --source cloudtrail samples/cloudtrail/*.json.gz > "$work/expected.ndjson"
target/debug/audit-relay normalize --source opensearch functions/opensearch-audit/events/data-message.json >> "$work/expected.ndjson"
target/debug/audit-relay validate "$work/received.ndjson"

dead_letters=$(python3 - "$moto_port" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
print(s3.list_objects_v2(Bucket="audit-relay-state", Prefix="dlq/").get("KeyCount", 0))
PY
)
python3 - "$work/expected.ndjson" "$work/received.ndjson" "$dead_letters" <<'PY'
import collections, json, sys
def uids(path):
    with open(path, encoding="utf-8") as lines:
        return collections.Counter(json.loads(line)["metadata"]["uid"] for line in lines if line.strip())
expected, received, dead_letters = uids(sys.argv[1]), uids(sys.argv[2]), int(sys.argv[3])
missing = set(expected) - set(received)
unknown = set(received) - set(expected)
twice = [uid for uid, n in received.items() if n > expected.get(uid, 0)]
print(f"lambda loop: {sum(received.values())} events received, {sum(expected.values())} expected, "
      f"{len(missing)} missing, {len(twice)} more than once, {len(unknown)} unknown, {dead_letters} dead letters")
if missing or unknown or twice or dead_letters or not expected:
    sys.exit("lambda loop: the receiver did not get every sample record exactly once")
PY
