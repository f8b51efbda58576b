#!/usr/bin/env bash
# Makes sure stripe-mock (Stripe's API mock, pinned to v0.185.0: it speaks
# the shapes stripe-go v76 sends, Billing Meters included) answers on
# loopback where the billing tests look for it, COUNTYCLOUD_TEST_STRIPE
# (default http://127.0.0.1:12111). Installs it with go install when it is
# missing and starts it in the background when nothing answers there.
# Idempotent, and quick when it already runs.
set -euo pipefail

version=v0.185.0
url=${COUNTYCLOUD_TEST_STRIPE:-http://127.0.0.1:12111}
hostport=${url#http://}
hostport=${hostport%%/*}
bin="$(go env GOPATH)/bin/stripe-mock"
log=${TMPDIR:-/tmp}/countycloud-stripe-mock.log

answers() {
  # stripe-mock answers an unauthenticated request with 401: any HTTP
  # status at all says it is there.
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/v1/customers" | grep -qv '^000$'
}

if answers; then
  exit 0
fi

# The binary's -version says "master"; its build information names the
# module version it was installed at.
if [ ! -x "$bin" ] || ! go version -m "$bin" | grep -q "stripe-mock[[:space:]]*$version"; then
  go install "github.com/stripe/stripe-mock@$version"
fi

# stripe-mock also serves HTTPS, by default on every interface at 12112;
# it is kept on loopback, at a port the system picks.
nohup "$bin" -http-addr "$hostport" -https-addr "${hostport%:*}:" >"$log" 2>&1 &
for _ in $(seq 1 50); do
  if answers; then
    echo "stripe-mock: started on $hostport (log: $log)"
    exit 0
  fi
  sleep 0.1
done
echo "stripe-mock did not answer on $hostport; its log ($log):" >&2
cat "$log" >&2
exit 1
