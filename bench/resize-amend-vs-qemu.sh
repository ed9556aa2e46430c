#!/bin/sh
# q2 resize / amend vs qemu-img on a 64 GiB qcow2 image with 64 KiB clusters made with preallocation=metadata (issue
# 13's speed target: q2 at most qemu-img's time). Checks first that both tools leave identical files, then runs them
# in paired rounds, alternating which goes first, each on a fresh sparse copy (made outside the timing), and prints
# wall and CPU (user+sys) medians and the ratios q2/qemu-img (bench/ab-cpu.py).
# Usage: bench/resize-amend-vs-qemu.sh [runs]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
"$root/q2" --version >/dev/null  # builds target/q2.jar and the start-up archive if needed
for tool in qemu-img python3; do
    command -v $tool >/dev/null || { echo "resize-amend-vs-qemu: $tool not found" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
base=$tmp/base.qcow2
qemu-img create -q -f qcow2 -o cluster_size=64k,preallocation=metadata "$base" 64G
for op in "resize work.qcow2 4T" "amend -o refcount_bits=64 work.qcow2"; do
    cp --sparse=always "$base" "$tmp/q.qcow2"; cp --sparse=always "$base" "$tmp/o.qcow2"
    (cd "$tmp" && qemu-img $(echo "$op" | sed 's/work/q/') >/dev/null)
    (cd "$tmp" && "$root/q2" $(echo "$op" | sed 's/work/o/') >/dev/null)
    cmp -s "$tmp/q.qcow2" "$tmp/o.qcow2" || { echo "resize-amend-vs-qemu: files differ after $op" >&2; exit 1; }
    echo "$op (A = qemu-img, B = q2; target B/A <= 1.00)" | sed 's/ work.qcow2//'
    python3 "$root/bench/ab-cpu.py" "$runs" "qemu-img $(echo "$op" | sed "s|work|$tmp/work|")" \
        "$root/q2 $(echo "$op" | sed "s|work|$tmp/work|")" --pre "cp --sparse=always $base $tmp/work.qcow2"
done
