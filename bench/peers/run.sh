#!/bin/bash
# The peer benchmark in one command (as root, from the repository): installs fail2ban, CrowdSec
# and crowdsec-firewall-bouncer from Debian's packages when missing (their services are never
# started), then runs bench/peers/peers.ts with the project's Node. Arguments go to peers.ts.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(id -u) == 0 ]] || { echo "run as root (namespaces, nft)" >&2; exit 1; }
bash bench/peers/install.sh
exec node_modules/.bin/node bench/peers/peers.ts "$@"
