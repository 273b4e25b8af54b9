#!/usr/bin/env bash
# Builds the sandbox, starts it in the background and waits until /healthz
# answers (at most 30 s). Used by the CI recipes of the README.
#   ADDR=127.0.0.1:8080 bash docs/examples/ci/start-sandbox.sh [extra sandbox flags]
# Leaves the binary at ./paysandbox, its pid in ./paysandbox.pid and its log in ./paysandbox.log.
set -euo pipefail
addr="${ADDR:-127.0.0.1:8080}"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
(cd "$root" && go build -o "$OLDPWD/paysandbox" ./cmd/sandbox)
./paysandbox --addr "$addr" "$@" >paysandbox.log 2>&1 &
echo $! >paysandbox.pid
for _ in $(seq 150); do
  if ./paysandbox healthcheck --addr "$addr" 2>/dev/null; then
    echo "sandbox ready on http://$addr"
    exit 0
  fi
  sleep 0.2
done
echo "the sandbox did not answer /healthz within 30 s:" >&2
cat paysandbox.log >&2
exit 1
