#!/usr/bin/env bash
# The test command (README "Run the tests"; CI runs it through .ci/run). Installs what it needs:
# moto's S3-compatible server and jsonschema in a virtualenv at .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/moto_server ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]>=5,<6' 'jsonschema>=4,<5'
fi
export PATH="$PWD/.venv/bin:$PATH"

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

# The bundled samples normalize to schema-valid OCSF with the official validator too.
cargo run --quiet --locked -p audit-relay-cli -- normalize --source cloudtrail samples/cloudtrail/*.json.gz \
  | .venv/bin/python ../shared/ocsf/validate.py
