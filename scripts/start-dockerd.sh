#!/usr/bin/env bash
# Start Debian's dockerd when none answers on /var/run/docker.sock (CI machines run no init
# system). Idempotent: a running engine is left alone. Its log goes to /tmp/gantry-dockerd.log.
set -euo pipefail
SOCK=/var/run/docker.sock
ping() { curl -sf --max-time 2 --unix-socket "$SOCK" http://docker/_ping >/dev/null 2>&1; }
if ping; then
  echo "dockerd: running"
  exit 0
fi
if ! test -x /usr/sbin/dockerd; then
  echo "dockerd: not installed (apt-get install docker.io)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "dockerd: not running, and starting it needs root" >&2
  exit 1
fi
# setsid: the engine outlives this script and the shell that ran it.
setsid /usr/sbin/dockerd >/tmp/gantry-dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 150); do
  if ping; then
    echo "dockerd: started"
    exit 0
  fi
  sleep 0.2
done
echo "dockerd: did not answer within 30 s; its log: /tmp/gantry-dockerd.log" >&2
tail -20 /tmp/gantry-dockerd.log >&2 || true
exit 1
