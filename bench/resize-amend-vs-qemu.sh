#!/bin/sh
# q2 resize / amend vs qemu-img, side by side with hyperfine, on a 64 GiB qcow2 image with 64 KiB clusters made with
# preallocation=metadata (issue 13's speed target: q2 at most qemu-img's time). Each run works on a fresh copy of the
# image (hyperfine --prepare), so the copy is not timed. Checks first that both tools leave identical files.
# Usage: bench/resize-amend-vs-qemu.sh [runs]
set -eu
. "$(dirname "$0")/lib.sh"
need qemu-img hyperfine python3
build
runs=${1:-5}
base=$TMP/base.qcow2
qemu-img create -q -f qcow2 -o cluster_size=64k,preallocation=metadata "$base" 64G
for op in "resize work.qcow2 4T" "amend -o refcount_bits=64 work.qcow2"; do
    cp --sparse=always "$base" "$TMP/q.qcow2"; cp --sparse=always "$base" "$TMP/o.qcow2"
    (cd "$TMP" && qemu-img $(echo "$op" | sed 's/work/q/') >/dev/null)
    (cd "$TMP" && "$Q2" $(echo "$op" | sed 's/work/o/') >/dev/null)
    cmp -s "$TMP/q.qcow2" "$TMP/o.qcow2" || { echo "resize-amend-vs-qemu: files differ after $op" >&2; exit 1; }
    hyperfine -N --warmup 1 --runs "$runs" --export-json "$TMP/h.json" \
        --prepare "cp --sparse=always $base $TMP/work.qcow2" \
        -n qemu-img "qemu-img $(echo "$op" | sed "s|work|$TMP/work|")" \
        -n q2 "$Q2 $(echo "$op" | sed "s|work|$TMP/work|")" >/dev/null
    python3 - "$TMP/h.json" "$op" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
q, j = r["qemu-img"], r["q2"]
print("%-40s qemu-img %.1f ms  q2 %.1f ms  ratio %.2f (target <= 1.00)" % (sys.argv[2].replace("work.qcow2", ""),
      q["mean"] * 1e3, j["mean"] * 1e3, j["mean"] / q["mean"]))
PY
done
