#!/usr/bin/env sh
# The Redis store tests run a real redis-server. Install it when it is missing and we may (root
# with apt-get, as on CI and a fresh machine here); otherwise say how.
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing redis-server for the Redis store tests…" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null 2>&1 && exit 0
fi
echo "redis-server is needed by the Redis store tests: install it (Debian/Ubuntu: apt-get install redis-server)" >&2
exit 1
