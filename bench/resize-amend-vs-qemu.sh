#!/bin/sh
# q2 resize / amend vs qemu-img on a 64 GiB qcow2 image with 64 KiB clusters made with preallocation=metadata (issue
# 13's speed target: q2 at most qemu-img's time). Checks first that both tools leave identical files, then runs them
# in paired rounds, alternating which goes first, each on a fresh sparse copy (made outside the timing), and prints
# wall and CPU (user+sys) medians and the ratios q2/qemu-img (bench/ab-cpu.py).
# Usage: bench/resize-amend-vs-qemu.sh [runs]
set -eu
. "$(dirname "$0")/lib.sh"
need qemu-img python3
build
runs=${1:-5}
base=$TMP/base.qcow2
qemu-img create -q -f qcow2 -o cluster_size=64k,preallocation=metadata "$base" 64G
for op in "resize work.qcow2 4T" "amend -o refcount_bits=64 work.qcow2"; do
    cp --sparse=always "$base" "$TMP/q.qcow2"; cp --sparse=always "$base" "$TMP/o.qcow2"
    (cd "$TMP" && qemu-img $(echo "$op" | sed 's/work/q/') >/dev/null)
    (cd "$TMP" && "$Q2" $(echo "$op" | sed 's/work/o/') >/dev/null)
    cmp -s "$TMP/q.qcow2" "$TMP/o.qcow2" || { echo "resize-amend-vs-qemu: files differ after $op" >&2; exit 1; }
    echo "$op (A = qemu-img, B = q2; target B/A <= 1.00)" | sed 's/ work.qcow2//'
    python3 "$ROOT/bench/ab-cpu.py" "$runs" "qemu-img $(echo "$op" | sed "s|work|$TMP/work|")" \
        "$Q2 $(echo "$op" | sed "s|work|$TMP/work|")" --pre "cp --sparse=always $base $TMP/work.qcow2"
done
