#!/bin/sh
# /usr/bin/nftsentry: runs the bundled program with the bundled Node runtime. Both are found
# relative to this script's real location (../lib/nftsentry), so the package also runs from a
# directory it was only extracted into (dpkg -x).
set -e
bin=$(dirname "$(readlink -f "$0")")
lib=$(cd "$bin/../lib/nftsentry" && pwd -P)
# --max-semi-space-size=2 and glibc's malloc settings: as bin/nftsentry (docs/engine.md "Memory
# per ban"); a value set by the caller is kept.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-32768}"
exec "$lib/bin/node" --max-semi-space-size=2 "$lib/app/nftsentry.mjs" "$@"
