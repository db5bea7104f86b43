#!/usr/bin/env bash
# Installs everything nftsentry needs on a Debian machine (run as root): the system packages
# (nftables, nmap, iproute2...) and the npm dependencies, including Node 24 from the npm registry
# (the `node` package), which the npm scripts then use whatever the system node is.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=()
command -v nft >/dev/null 2>&1 || pkgs+=(nftables)
command -v nmap >/dev/null 2>&1 || pkgs+=(nmap)
command -v ip >/dev/null 2>&1 || pkgs+=(iproute2)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
command -v sysctl >/dev/null 2>&1 || pkgs+=(procps)
command -v ping >/dev/null 2>&1 || pkgs+=(iputils-ping)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
# Tests only: libfaketime steps the daemon's wall clock (test/engine/clock.test.ts).
dpkg -s faketime >/dev/null 2>&1 || pkgs+=(faketime)
# Tests and bench/meters.ts only: tcpreplay sends the spoofed-source floods (src/lab/flood.ts).
dpkg -s tcpreplay >/dev/null 2>&1 || pkgs+=(tcpreplay)
# Tests only: the Debian package test (test/package/) runs lintian on the built .deb.
command -v lintian >/dev/null 2>&1 || pkgs+=(lintian)
# Tests only: zsh checks the generated zsh completion (test/unit/completion.test.ts).
command -v zsh >/dev/null 2>&1 || pkgs+=(zsh)
# Tests only: systemd-analyze verify/security check deploy/nftsentry.service (no running systemd needed).
command -v systemd-analyze >/dev/null 2>&1 || pkgs+=(systemd)
# Tests only: tcpdump captures the TTL rewrite in the gateway namespace (test/e2e/ttl-normalize.test.ts).
command -v tcpdump >/dev/null 2>&1 || pkgs+=(tcpdump)
# Tests only: the dashboard's browser tests drive Debian's Chromium through playwright-core (no browser download).
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
# The API makes its self-signed certificate with openssl when it listens beyond loopback (src/api/tls.ts).
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
# Tests only: fleet tests start their own redis-server inside a namespace (the package's service is never started).
command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
if [ "${#pkgs[@]}" -gt 0 ]; then
  echo "setup: installing ${pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root to install system packages" >&2; exit 1; fi
  # No package's service starts on this host (redis-server's postinst would start one): a
  # policy-rc.d that denies every start is in place during the install; an existing one is put back.
  policy=/usr/sbin/policy-rc.d
  backup=""
  if [ -e "$policy" ]; then backup=$(mktemp /tmp/nftsentry-policy-rc.d.XXXXXX); cp -a "$policy" "$backup"; fi
  restore_policy() { if [ -n "$backup" ]; then mv -f "$backup" "$policy"; else rm -f "$policy"; fi; }
  trap restore_policy EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  restore_policy
  trap - EXIT
  rm -f /etc/systemd/system/multi-user.target.wants/redis-server.service
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  log=$(mktemp)
  # npm 11 refuses some lockfiles with platform-specific optional packages (node-unix-socket's)
  # even when freshly generated; npm install then installs the same locked versions.
  if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    echo "setup: npm ci refused the lockfile ($(grep -m1 -o 'Missing: [^ ]*' "$log" || echo 'see npm log')); using npm install"
    npm install --no-audit --no-fund --loglevel=error
  fi
  rm -f "$log"
fi
echo "setup: $(node_modules/.bin/node --version), $(nft --version), $(nmap --version | head -1)"
