#!/bin/sh
# LUKS key work, q2 against QEMU (session 7, docs/performance.md "Session 7: PBKDF2"):
#  1. unlock: qemu-io and q2 io each read one sector of the same image, made by qemu-img with the default iter-time
#     (2 s of PBKDF2 for the slot, 1/8 of that for the master key digest, as QEMU's benchmark measures it here);
#  2. create: qemu-img create and q2 create of a LUKS qcow2 image (each benchmarks its own PBKDF2, then spends
#     iter-time on it), then the iteration counts each tool chose, which should be alike when the two PBKDF2s
#     run at the same speed.
# Paired rounds, alternating which goes first (bench/ab-cpu.py): wall and CPU (user+sys) medians, ratios q2/QEMU.
# Usage: bench/luks-vs-qemu.sh [runs] [iter-time ms]; Q2_UNDER_TEST=path/to/q2 runs another build (an older
# checkout, say) in place of this one.
set -eu
. "$(dirname "$0")/lib.sh"
need qemu-img qemu-io python3
Q2=${Q2_UNDER_TEST:-$Q2}
build
runs=${1:-3}
iter=${2:-}
opts="encrypt.format=luks,encrypt.key-secret=s${iter:+,encrypt.iter-time=$iter}"
secret="--object secret,id=s,data=pw"

# qemu-img 7.2 fails now and then with "Unable to get accurate CPU usage" (its benchmark's first run of 2^15
# iterations can take under one tick of thread CPU time on a fast core): try again
qcreate() {
    for try in 1 2 3 4 5 6; do
        if qemu-img create -q -f qcow2 $secret -o "$opts" "$1" 1M 2>"$TMP/err"; then return 0; fi
        grep -q 'Unable to get accurate CPU usage' "$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
    done
    cat "$TMP/err" >&2; exit 1
}

# master key digest and slot 0 iterations of a LUKS qcow2 image
iters() {
    qemu-img info --output=json "$1" | python3 -c '
import json, sys
e = json.load(sys.stdin)["format-specific"]["data"]["encrypt"]
print(e["master-key-iters"], [s for s in e["slots"] if s["active"]][0]["iters"])'
}

qcreate "$TMP/img.qcow2"
set -- $(iters "$TMP/img.qcow2")
echo "image made by qemu-img: master key digest $1 iterations, slot 0 $2 iterations ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load $(cut -d' ' -f1 /proc/loadavg))"
io="--image-opts driver=qcow2,file.filename=$TMP/img.qcow2,encrypt.key-secret=s -c 'read 0 512'"
"$Q2" io $secret --image-opts "driver=qcow2,file.filename=$TMP/img.qcow2,encrypt.key-secret=s" -c 'read 0 512' \
    >/dev/null
echo "unlock and read a sector (A = qemu-io, B = q2 io)"
python3 "$ROOT/bench/ab-cpu.py" "$runs" "qemu-io $secret $io" "$Q2 io $secret $io"

echo "create (A = qemu-img create, B = q2 create; $opts)"
# (the failures of qemu-img's benchmark, tried again as above, take a few ms each and are counted in its time)
python3 "$ROOT/bench/ab-cpu.py" "$runs" \
    "for t in 1 2 3 4 5 6; do qemu-img create -q -f qcow2 $secret -o $opts $TMP/c.qcow2 1M 2>/dev/null && break; done" \
    "$Q2 create -q -f qcow2 $secret -o $opts $TMP/c.qcow2 1M" --pre "rm -f $TMP/c.qcow2"

echo "iterations chosen (master key digest, slot 0), $runs images each:"
for i in $(seq "$runs"); do
    qcreate "$TMP/q$i.qcow2"
    "$Q2" create -q -f qcow2 $secret -o "$opts" "$TMP/o$i.qcow2" 1M
    echo "  qemu-img $(iters "$TMP/q$i.qcow2")   q2 $(iters "$TMP/o$i.qcow2")"
    rm -f "$TMP/q$i.qcow2" "$TMP/o$i.qcow2"
done | tee "$TMP/counts"
python3 - "$TMP/counts" <<'PY'
import statistics, sys
q, o = [], []
for line in open(sys.argv[1]):
    w = line.split()
    q.append(int(w[2])); o.append(int(w[5]))
print("slot iterations, medians: qemu-img %d, q2 %d, q2/qemu-img %.2f"
      % (statistics.median(q), statistics.median(o), statistics.median(o) / statistics.median(q)))
PY
