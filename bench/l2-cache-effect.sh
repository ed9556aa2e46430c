#!/bin/sh
# Does the L2 cache matter? Random 4 KiB reads through q2's engine over a sparse 256 GiB image whose L2 tables all
# exist (preallocation=metadata, 64 KiB clusters: 512 tables, 32 MiB of L2), with a cache that covers the whole
# disk against one that covers a tenth of it. Prints hit ratios, L2 bytes read and the time per run (hyperfine).
# Usage: bench/l2-cache-effect.sh [ops] [runs]
set -eu
. "$(dirname "$0")/lib.sh"
need hyperfine
ops=${1:-200000}
runs=${2:-5}
img=$TMP/prealloc-256G.qcow2
"$Q2" create -q -o preallocation=metadata "$img" 256G
full=$("$Q2" info --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["l2-cache"]["full-coverage-bytes"])')
tenth=$((full / 10))
for size in "$full" "$tenth"; do
    echo "cache $size bytes:"
    "$Q2" bench --count "$ops" --warmup "$ops" --l2-cache-size "$size" "$img" | sed 's/^/    /'
done
hyperfine -N --warmup 1 --runs "$runs" \
    -n "full coverage ($full bytes)" "$Q2 bench --count $ops --warmup $ops --l2-cache-size $full $img" \
    -n "a tenth ($tenth bytes)" "$Q2 bench --count $ops --warmup $ops --l2-cache-size $tenth $img"
