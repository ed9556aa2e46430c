#!/bin/sh
# Does the L2 cache matter? Random 4 KiB reads through q2's engine over a sparse 256 GiB image whose L2 tables all
# exist (preallocation=metadata, 64 KiB clusters: 512 tables, 32 MiB of L2), with a cache that covers the whole
# disk against one that covers a tenth of it. Prints hit ratios, L2 bytes read and the time per run (hyperfine).
# Usage: bench/l2-cache-effect.sh [ops] [runs]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
ops=${1:-200000}
runs=${2:-5}
q2="$root/q2"
command -v hyperfine >/dev/null || { echo "l2-cache-effect: hyperfine not found" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/prealloc-256G.qcow2
"$q2" create -q -o preallocation=metadata "$img" 256G
full=$("$q2" info --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["l2-cache"]["full-coverage-bytes"])')
tenth=$((full / 10))
for size in "$full" "$tenth"; do
    echo "cache $size bytes:"
    "$q2" bench --count "$ops" --warmup "$ops" --l2-cache-size "$size" "$img" | sed 's/^/    /'
done
hyperfine -N --warmup 1 --runs "$runs" \
    -n "full coverage ($full bytes)" "$q2 bench --count $ops --warmup $ops --l2-cache-size $full $img" \
    -n "a tenth ($tenth bytes)" "$q2 bench --count $ops --warmup $ops --l2-cache-size $tenth $img"
