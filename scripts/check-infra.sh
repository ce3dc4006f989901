#!/usr/bin/env bash
# Validates the deployment without AWS credentials: cfn-lint (no errors or warnings) and checkov (no
# failed checks but those skipped in the template with a written reason) on the functions' template
# and the Security Lake stack, and the arm64 build of
# every function with cargo-lambda, as `sam build` runs it but with the `arm64-check` profile
# (Cargo.toml: release without fat LTO, which takes CI twelve minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

# cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational. Errors and warnings fail.
for template in infra/template.yaml infra/security-lake.yaml; do
  set +e
  cfn-lint "$template"
  lint=$?
  set -e
  if (( lint & 6 )); then
    echo "cfn-lint found errors or warnings in $template (exit $lint)" >&2
    exit 1
  fi
  checkov -f "$template" --quiet --skip-download --compact
done

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi
packages=()
for manifest in functions/*/Cargo.toml; do
  packages+=(--package "$(basename "$(dirname "$manifest")")")
done
cargo lambda build --profile arm64-check --arm64 --locked "${packages[@]}"
for manifest in functions/*/Cargo.toml; do
  name=$(basename "$(dirname "$manifest")")
  # ELF e_machine (bytes 18-19) is 0xb7 for aarch64.
  machine=$(od -An -tx1 -j18 -N2 target/lambda/"$name"/bootstrap | tr -d ' \n')
  [ "$machine" = "b700" ] || { echo "target/lambda/$name/bootstrap is not an arm64 binary ($machine)" >&2; exit 1; }
  echo "target/lambda/$name/bootstrap: $(du -h target/lambda/"$name"/bootstrap | cut -f1) arm64"
done
