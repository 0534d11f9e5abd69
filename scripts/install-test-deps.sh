#!/usr/bin/env bash
# Install what the test suite needs from Debian, idempotently: packages already present are
# skipped, and apt-get runs only when something is missing. Run as root (CI is).
set -euo pipefail

# command -> Debian package that provides it
declare -A NEEDS=(
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [git]=git
  [ssh]=openssh-client
  [sshd]=openssh-server
  [update-rc.d]=init-system-helpers
  [useradd]=passwd
  [sudo]=sudo
  [curl]=curl
  [dockerd]=docker.io
  [docker-registry]=docker-registry
  # ACME test directory and its mock DNS (test/acme.slow.test.ts)
  [pebble]=pebble
  [pebble-challtestsrv]=pebble
  # the dashboard's browser tests (test/helpers/browser.ts drive it with playwright-core)
  [chromium]=chromium
)

missing=()
for cmd in "${!NEEDS[@]}"; do
  # sshd lives in /usr/sbin, which is not on every PATH.
  if ! command -v "$cmd" >/dev/null 2>&1 && ! test -x "/usr/sbin/$cmd"; then
    missing+=("${NEEDS[$cmd]}")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "test prerequisites: all present"
  bash "$(dirname "$0")/start-dockerd.sh"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "test prerequisites missing: ${missing[*]} — run this script as root (it uses apt-get)" >&2
  exit 1
fi

echo "installing test prerequisites: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's etcd-server package enables a system etcd; the tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  systemctl stop etcd || true
fi
# Debian's docker-registry package starts a registry on :5000; the tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
echo "test prerequisites: installed"
bash "$(dirname "$0")/start-dockerd.sh"
