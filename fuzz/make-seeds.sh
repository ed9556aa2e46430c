#!/bin/bash
# Makes the seed images of the fuzz targets with qemu-img/qemu-io (7.2) into
# src/test/resources/dev/q2/fuzz/seeds/, and the seed inputs that select them (one byte each, see
# FuzzImage) into every target's inputs folder. Idempotent. Seeds are only ever appended to SEEDS below:
# an input's first byte is an index into that list, so reordering it would change what committed
# regression inputs mean.
set -euo pipefail
export LC_ALL=C TZ=UTC
HERE=$(cd "$(dirname "$0")" && pwd)
RES="$HERE/../src/test/resources/dev/q2/fuzz"
OUT="$RES/seeds"
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"

q() { qemu-img "$@" > /dev/null; }
io() {
    local img=$1; shift
    local a=() c
    for c in "$@"; do a+=(-c "$c"); done
    case $img in *.raw) a=(-f raw "${a[@]}");; esac
    qemu-io "${a[@]}" "$img" > /dev/null
}

# Shared by every input: a backing file for the overlays and the external data file of data-file.qcow2.
q create -f qcow2 -o cluster_size=512 base.qcow2 64k
io base.qcow2 'write -P 0x11 0 8k' 'write -P 0x12 40k 2k'
q create -f raw base.raw 64k
io base.raw 'write -P 0x21 4k 4k'

SEEDS=()
seed() { SEEDS+=("$1"); }

q create -f qcow2 -o cluster_size=512 c512.qcow2 64k
io c512.qcow2 'write -P 0x41 0 1536' 'write -z 4k 1k' 'write -P 0x42 63k 1k' 'discard 0 512'
seed c512.qcow2

q create -f qcow2 -o cluster_size=4096,compat=0.10 v2.qcow2 1M
io v2.qcow2 'write -P 0x43 0 12k' 'write -P 0x44 900k 4k'
seed v2.qcow2

q create -f qcow2 -o cluster_size=4096,refcount_bits=1 rc1.qcow2 256k
io rc1.qcow2 'write -P 0x45 0 8k' 'write -z 64k 4k'
seed rc1.qcow2

q create -f qcow2 -o cluster_size=4096,refcount_bits=64 rc64.qcow2 256k
io rc64.qcow2 'write -P 0x46 4k 8k'
seed rc64.qcow2

q create -f qcow2 -o cluster_size=16384,extended_l2=on ext.qcow2 256k
io ext.qcow2 'write -P 0x47 0 1k' 'write -z 2k 1k' 'write -P 0x48 17k 3k' 'discard 40k 1k'
seed ext.qcow2

q create -f raw cdata.raw 256k
io cdata.raw 'write -P 0x49 0 64k' 'write -P 0x4a 128k 16k'
q convert -f raw -c -O qcow2 -o cluster_size=4096 cdata.raw zlib.qcow2
seed zlib.qcow2
q convert -f raw -c -O qcow2 -o cluster_size=4096,compression_type=zstd cdata.raw zstd.qcow2
seed zstd.qcow2
rm cdata.raw

q create -f qcow2 -o cluster_size=4096 snap.qcow2 128k
io snap.qcow2 'write -P 0x4b 0 8k'
q snapshot -c first snap.qcow2
io snap.qcow2 'write -P 0x4c 4k 8k'
q snapshot -c second snap.qcow2
io snap.qcow2 'write -P 0x4d 64k 4k'
seed snap.qcow2

q create -f qcow2 -o cluster_size=4096 bitmaps.qcow2 256k
q bitmap --add bitmaps.qcow2 b0
q bitmap --add -g 64k bitmaps.qcow2 b1
q bitmap --add --disable bitmaps.qcow2 b2
io bitmaps.qcow2 'write -P 0x4e 0 8k' 'write -P 0x4f 200k 4k'
seed bitmaps.qcow2

q create -f qcow2 -o cluster_size=512 -b base.qcow2 -F qcow2 overlay.qcow2 64k
io overlay.qcow2 'write -P 0x50 4k 1k'
seed overlay.qcow2

q create -f qcow2 -o cluster_size=4096 -b base.raw -F raw overlay-raw.qcow2 64k
io overlay-raw.qcow2 'write -P 0x51 0 4k'
seed overlay-raw.qcow2

q create -f qcow2 -o cluster_size=4096,data_file=data.raw,data_file_raw=on data-file.qcow2 64k
io data-file.qcow2 'write -P 0x52 8k 4k'
seed data-file.qcow2

q create -f qcow2 -o cluster_size=65536 c64k.qcow2 1M
io c64k.qcow2 'write -P 0x53 0 4k' 'write -P 0x54 512k 64k'
seed c64k.qcow2

q create -f qcow2 -o cluster_size=2048,lazy_refcounts=on lazy.qcow2 64k
io lazy.qcow2 'write -P 0x55 0 4k'
seed lazy.qcow2

q create -f qcow2 -o cluster_size=4096,preallocation=metadata prealloc.qcow2 128k
seed prealloc.qcow2

printf '%s\n' "${SEEDS[@]}" > index.txt

# One seed input per seed image and target: byte i selects seed i, unpatched.
for t in HeaderFuzzTest OpenFuzzTest CheckFuzzTest MapFuzzTest ReadFuzzTest SnapshotFuzzTest ChainFuzzTest; do
    rm -f "$RES/${t}Inputs"/*/seed-*
done
i=0
for s in "${SEEDS[@]}"; do
    for dir in OpenFuzzTestInputs/open CheckFuzzTestInputs/check CheckFuzzTestInputs/repair \
               MapFuzzTestInputs/map ReadFuzzTestInputs/read SnapshotFuzzTestInputs/snapshot \
               ChainFuzzTestInputs/rebase ChainFuzzTestInputs/commit; do
        mkdir -p "$RES/$dir"
        printf "\\x$(printf %02x $i)" > "$RES/$dir/seed-${s%.qcow2}"
    done
    # the header target takes the first cluster (at most 4 KiB) as it is
    mkdir -p "$RES/HeaderFuzzTestInputs/decode"
    head -c 4096 "$s" > "$RES/HeaderFuzzTestInputs/decode/seed-${s%.qcow2}"
    i=$((i + 1))
done
# Small images also as raw inputs (first byte 0x80: the rest is the file itself), so that the fuzzer
# mutates whole files too, not only patches of the seeds.
for s in c512.qcow2 overlay.qcow2; do
    for dir in OpenFuzzTestInputs/open CheckFuzzTestInputs/check CheckFuzzTestInputs/repair \
               MapFuzzTestInputs/map ReadFuzzTestInputs/read SnapshotFuzzTestInputs/snapshot \
               ChainFuzzTestInputs/rebase ChainFuzzTestInputs/commit; do
        { printf '\x80'; cat "$s"; } > "$RES/$dir/seed-raw-${s%.qcow2}"
    done
done
# CliArgsFuzzTest's seeds are argument lists (NUL-separated), not images: written once, by hand, in
# CliArgsFuzzTestInputs/args/seed-COMMAND-* (first byte: the command, see CliArgsFuzzTest.COMMANDS).
ls -l "$OUT"
