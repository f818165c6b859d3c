#!/usr/bin/env sh
# The tests run real programs: redis-server (the Redis store tests) and Chromium (the web console
# tests, driven by playwright-core at /usr/bin/chromium). Install what is missing when we may
# (root with apt-get, as on CI and a fresh machine here); otherwise say how.
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing$missing for the tests…" >&2
  # shellcheck disable=SC2086
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null 2>&1 && exit 0
fi
echo "the tests need$missing: install it (Debian/Ubuntu: apt-get install$missing)" >&2
exit 1
