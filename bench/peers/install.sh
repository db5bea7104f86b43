#!/bin/bash
# Installs fail2ban, crowdsec and crowdsec-firewall-bouncer from Debian's packages when missing,
# without starting any of their services on the host: a policy-rc.d that denies every start is in
# place during the install (an existing one is kept and put back), and the packages' own units are
# never started by hand. Afterwards no fail2ban or crowdsec process may run on the host; one that
# does is stopped by its PID and named.
set -euo pipefail

# python3-pyinotify: fail2ban's inotify backend (a Recommends, not pulled by --no-install-recommends).
PKGS=(fail2ban python3-pyinotify crowdsec crowdsec-firewall-bouncer)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}" >&2
  POLICY=/usr/sbin/policy-rc.d
  backup=""
  if [[ -e $POLICY ]]; then
    backup=$(mktemp /tmp/nspeer-policy-rc.d.XXXXXX)
    cp -a "$POLICY" "$backup"
  fi
  restore() {
    if [[ -n $backup ]]; then mv -f "$backup" "$POLICY"; else rm -f "$POLICY"; fi
  }
  trap restore EXIT
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod +x "$POLICY"
  # crowdsec's postinst registers to the central API (internet) unless this file is non-empty.
  CAPI=/etc/crowdsec/online_api_credentials.yaml
  if [[ ! -s $CAPI ]]; then
    mkdir -p /etc/crowdsec
    echo '# no central API: registration skipped (offline host; nftsentry bench/peers)' >"$CAPI"
  fi
  apt-get update -q >&2
  # A configure that failed before (crowdsec without internet) is finished first.
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a >&2 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  restore
  trap - EXIT
  # The packages enable their units (a symlink each, what `systemctl disable` removes); these are
  # benchmark copies, never to start with the host.
  for unit in fail2ban.service crowdsec.service crowdsec-firewall-bouncer.service; do
    rm -f "/etc/systemd/system/multi-user.target.wants/$unit"
  done
fi

# No peer daemon in the host's network namespace: any is stopped by its PID, and named.
host_ns=$(readlink /proc/self/ns/net)
for pid in $(pgrep -f 'fail2ban-server|/usr/bin/crowdsec|crowdsec-firewall-bouncer' || true); do
  [[ $pid == "$$" ]] && continue
  [[ $(readlink /proc/"$pid"/ns/net 2>/dev/null) == "$host_ns" ]] || continue
  echo "WARNING: stopping host process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)" >&2
  kill "$pid" 2>/dev/null || true
done
