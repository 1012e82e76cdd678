#!/usr/bin/env bash
# Self-test of the extism-go driver: plays the runner against a folder of built
# plugins (default: the repo's target/plugins), then tries `driver call`.
#   hosts/extism-go/smoke.sh [PLUGINS_DIR]
# DRIVER=path overrides the driver (default: target/hosts/extism-go/driver, built
# here first if it is missing). Prints "N passed, M failed"; exits 1 on a failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
plugins="$(cd "${1:-$here/../../target/plugins}" && pwd)"
state="$here/../../target/hosts/extism-go"
driver="${DRIVER:-$state/driver}"
cd "$here"
if [[ ! -x "$driver" ]]; then
  mkdir -p "$state"
  go build -mod=readonly -trimpath -o "$driver" .
fi
exec go run -mod=readonly ./smoke -driver "$driver" -plugins "$plugins"
