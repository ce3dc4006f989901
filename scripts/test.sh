#!/usr/bin/env bash
# The test command (README "Run the tests"; CI runs it through .ci/run). Installs what it needs in
# a virtualenv at .venv: moto's S3/CloudWatch Logs server, jsonschema, cfn-lint, checkov, cargo-lambda;
# and cargo-deny with cargo install when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements='moto[server]>=5.2,<6 jsonschema>=4,<5 cfn-lint>=1,<2 checkov>=3,<4 cargo-lambda>=1,<2'
if [ ! -f .venv/.installed ] || [ "$(cat .venv/.installed)" != "$requirements" ]; then
  python3 -m venv .venv
  # shellcheck disable=SC2086
  .venv/bin/pip install --quiet --disable-pip-version-check $requirements
  echo "$requirements" > .venv/.installed
fi
export PATH="$PWD/.venv/bin:$PATH"

cargo fmt --all --check

# Licenses, bans and sources of every dependency (deny.toml). The advisories check needs the RustSec
# database from the network, which CI does not have.
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked cargo-deny@0.20.2
fi
cargo deny check --hide-inclusion-graph licenses bans sources
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

# The bundled samples normalize to schema-valid OCSF with the official validator too.
cargo build --quiet --locked -p audit-relay-cli
target/debug/audit-relay normalize --source cloudtrail samples/cloudtrail/*.json.gz | python ../shared/ocsf/validate.py
target/debug/audit-relay normalize --source opensearch samples/opensearch/* | python ../shared/ocsf/validate.py

bash scripts/check-infra.sh
