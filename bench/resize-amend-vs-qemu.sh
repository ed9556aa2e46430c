#!/bin/sh
# q2 resize / amend vs qemu-img, side by side with hyperfine, on a 64 GiB qcow2 image with 64 KiB clusters made with
# preallocation=metadata (issue 13's speed target: q2 at most qemu-img's time). Each run works on a fresh copy of the
# image (hyperfine --prepare), so the copy is not timed. Checks first that both tools leave identical files.
# Usage: bench/resize-amend-vs-qemu.sh [runs]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
"$root/q2" --version >/dev/null  # builds target/q2.jar and the start-up archive if needed
for tool in qemu-img hyperfine python3; do
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
    hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" \
        --prepare "cp --sparse=always $base $tmp/work.qcow2" \
        -n qemu-img "qemu-img $(echo "$op" | sed "s|work|$tmp/work|")" \
        -n q2 "$root/q2 $(echo "$op" | sed "s|work|$tmp/work|")" >/dev/null
    python3 - "$tmp/h.json" "$op" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
q, j = r["qemu-img"], r["q2"]
print("%-40s qemu-img %.1f ms  q2 %.1f ms  ratio %.2f (target <= 1.00)" % (sys.argv[2].replace("work.qcow2", ""),
      q["mean"] * 1e3, j["mean"] * 1e3, j["mean"] / q["mean"]))
PY
done
