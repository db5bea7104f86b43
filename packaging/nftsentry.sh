#!/bin/sh
# /usr/bin/nftsentry: runs the bundled program with the bundled Node runtime. Both are found
# relative to this script's real location (../lib/nftsentry), so the package also runs from a
# directory it was only extracted into (dpkg -x).
set -e
bin=$(dirname "$(readlink -f "$0")")
lib=$(cd "$bin/../lib/nftsentry" && pwd -P)
# --max-semi-space-size=2: as bin/nftsentry (docs/engine.md "Memory per ban").
exec "$lib/bin/node" --max-semi-space-size=2 "$lib/app/nftsentry.mjs" "$@"
