#!/bin/sh
# /usr/bin/nftsentry: runs the bundled program with the bundled Node runtime. Both are found
# relative to this script's real location (../lib/nftsentry), so the package also runs from a
# directory it was only extracted into (dpkg -x).
set -e
bin=$(dirname "$(readlink -f "$0")")
lib=$(cd "$bin/../lib/nftsentry" && pwd -P)
exec "$lib/bin/node" "$lib/app/nftsentry.mjs" "$@"
