#!/bin/bash
# Regenerates the qemu-img reference fixtures used by the q2 Java test suite.
#
#   testdata/cases/<case>/          one image scenario per folder (main image: img.qcow2)
#   testdata/create/<NN>/           result of `qemu-img create -f qcow2 <line NN of create-cases.txt>`
#   testdata/create-errors/<NN>/    result of `qemu-img create -f qcow2 <line NN of create-errors.txt>`
#
# See testdata/README.md for the exact file layout. Idempotent: wipes and recreates
# cases/, create/ and create-errors/. Needs qemu-img/qemu-io (made with 7.2), python3, gzip.
set -euo pipefail

export LC_ALL=C TZ=UTC
HERE=$(cd "$(dirname "$0")" && pwd)
EDIT="python3 $HERE/qcow2edit.py"
QEMU_VERSION=$(qemu-img --version | head -n1)
# Image/data files larger than this (apparent size) are stored gzip'ed as NAME.gz
# (gzip -n: no name/timestamp, so the .gz bytes are reproducible). git keeps no holes, and
# ~90 mostly-zero images of 200K..33M would otherwise take >30 MB of working tree.
BIG=$((64 * 1024))
ulimit -c 0   # qemu-io 'abort' is used on purpose in one case

rm -rf "$HERE/cases" "$HERE/create" "$HERE/create-errors"
mkdir -p "$HERE/cases" "$HERE/create" "$HERE/create-errors"

# ---------------------------------------------------------------- helpers

# log + run a command inside the current case folder (steps.txt documents how a case was built)
run() {
    echo "$*" >> steps.txt
    "$@" > /dev/null
}
note() { echo "# $*" >> steps.txt; }
edit() {  # mutating qcow2edit.py call, logged
    echo "qcow2edit.py $*" >> steps.txt
    $EDIT "$@"
}

# create img.qcow2 with a single qemu-img create; records create.cmd / create.out
create_main() {
    echo "create $*" > create.cmd
    echo "qemu-img create $*" >> steps.txt
    qemu-img create "$@" > create.out
}

io() {  # io IMG CMD...   -> one qemu-io run, every CMD is a -c argument
    local img=$1; shift
    local a=() c
    for c in "$@"; do a+=(-c "$c"); done
    case $img in *.raw) a=(-f raw "${a[@]}");; esac
    echo "qemu-io $(case $img in *.raw) printf -- '-f raw ';; esac)$(printf -- "-c '%s' " "$@")$img" >> steps.txt
    qemu-io "${a[@]}" "$img" > /dev/null
}

# Rewrite files without holes: git does not keep sparseness, so the fixture outputs
# ("disk size"/"actual-size") must be produced from fully allocated files.
desparse() {
    local f
    for f in "$@"; do
        cp --sparse=never "$f" "$f.tmp"
        mv "$f.tmp" "$f"
    done
}

begin_case() {
    CASE=$1
    mkdir -p "$HERE/cases/$CASE"
    cd "$HERE/cases/$CASE"
    : > steps.txt
}

# capture all qemu-img outputs for img.qcow2 in the current case folder
finish_case() {
    local f rj rh
    desparse $(ls | grep -E '\.(qcow2|raw)$')
    qemu-img info --output=json img.qcow2 > info.json
    qemu-img info img.qcow2 > info.txt
    if grep -q '"backing-filename"' info.json; then
        qemu-img info --backing-chain --output=json img.qcow2 > info-chain.json
        qemu-img info --backing-chain img.qcow2 > info-chain.txt
    fi
    set +e
    qemu-img check --output=json img.qcow2 > check.json 2> check.json.err; rj=$?
    qemu-img check img.qcow2 > check.txt 2> check.txt.err; rh=$?
    echo "json=$rj human=$rh" > check.rc
    qemu-img map --output=json img.qcow2 > map.json 2> map.json.err; rj=$?
    qemu-img map img.qcow2 > map.txt 2> map.txt.err; rh=$?
    echo "json=$rj human=$rh" > map.rc
    set -e
    if grep -q '"snapshots"' info.json; then
        qemu-img snapshot -l img.qcow2 > snapshot-list.txt
    fi
    # big files are stored gzip'ed: gunzip (to non-sparse files) before use
    for f in $(ls | grep -E '\.(qcow2|raw)$'); do
        if [ "$(stat -c %s "$f")" -gt "$BIG" ]; then
            gzip -9 -n "$f"
        fi
    done
    cd "$HERE"
}

# ---------------------------------------------------------------- cases

begin_case empty-default
create_main -f qcow2 img.qcow2 1G
finish_case

begin_case empty-zstd
create_main -f qcow2 -o compression_type=zstd img.qcow2 1G
finish_case

begin_case v2-compat010-data
create_main -f qcow2 -o compat=0.10 img.qcow2 4M
# v2 has no zero flag: 'write -z' on the second half of the written range deallocates it
io img.qcow2 'write -P 0x11 0 128k' 'write -z 64k 64k' 'write -P 0x22 1M 4k' 'write -z 2M 64k'
finish_case

begin_case extl2-128k-1T-empty
create_main -f qcow2 -o extended_l2=on,cluster_size=128k img.qcow2 1T
finish_case

begin_case extl2-subclusters
# 64k clusters, 32 subclusters of 2k each
create_main -f qcow2 -o extended_l2=on img.qcow2 4M
io img.qcow2 \
    'write -P 0xab 0 2k' \
    'write -P 0xcd 6k 1k' \
    'write -P 0xef 64k 64k' \
    'write -z 68k 4k' \
    'write -z 192k 4k' \
    'write -z 256k 64k' \
    'write -P 0x12 320k 3k' \
    'write -P 0x34 1M 2k' \
    'write -P 0x56 1028k 2k'
finish_case

begin_case cluster-512
create_main -f qcow2 -o cluster_size=512 img.qcow2 1M
# 512-byte clusters: one L2 table covers 32k, so these writes touch several L2 tables
io img.qcow2 'write -P 0x11 0 1k' 'write -P 0x22 31k 2k' 'write -P 0x33 100k 512' \
    'write -z 200k 4k' 'write -P 0x44 1023k 1k'
finish_case

begin_case cluster-4k
create_main -f qcow2 -o cluster_size=4k img.qcow2 4M
io img.qcow2 'write -P 0x11 0 10k' 'write -P 0x22 2M 4k' 'write -z 3M 8k'
finish_case

begin_case cluster-2M
create_main -f qcow2 -o cluster_size=2M img.qcow2 8M
io img.qcow2 'write -P 0x11 0 64k' 'write -z 4M 2M'
finish_case

for rb in 1 8 64; do
    begin_case refcount-bits-$rb
    create_main -f qcow2 -o refcount_bits=$rb img.qcow2 1M
    io img.qcow2 'write -P 0x5a 0 64k' 'write -P 0xa5 512k 4k'
    finish_case
done

begin_case lazy-refcounts
create_main -f qcow2 -o lazy_refcounts=on img.qcow2 1M
io img.qcow2 'write -P 0x11 0 128k'
finish_case

# compressed images: source raw file with per-64k-cluster content
#   0: 0x61 pattern (compresses)   1: random (incompressible -> stored uncompressed)
#   2: zero (skipped by convert)   3: text (compresses)   4..7: 0x62 pattern (compresses)
#   8..15: zero (image is 1M)
make_src() {
    note "python3: write src.raw (1M: pattern/random/zero/text clusters, see make-fixtures.sh)"
    python3 - <<'EOF'
import random
r = random.Random(42)
c = 65536
data = bytearray(16 * c)
data[0:c] = b"a" * c
data[c:2*c] = bytes(r.getrandbits(8) for _ in range(c))
text = b"".join(b"line %d of some compressible text\n" % i for i in range(5000))
data[3*c:4*c] = text[:c]
data[4*c:8*c] = b"b" * (4 * c)
open("src.raw", "wb").write(data)
EOF
}

begin_case compressed-zlib
make_src
run qemu-img convert -c -O qcow2 src.raw img.qcow2
finish_case

begin_case compressed-zstd
make_src
run qemu-img convert -c -O qcow2 -o compression_type=zstd src.raw img.qcow2
finish_case

begin_case backing-chain-qcow2
run qemu-img create -f qcow2 base.qcow2 4M
io base.qcow2 'write -P 0x11 0 256k' 'write -P 0x12 3M 64k'
run qemu-img create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
io mid.qcow2 'write -P 0x22 128k 64k' 'write -P 0x23 1M 64k'
create_main -f qcow2 -b mid.qcow2 -F qcow2 img.qcow2
io img.qcow2 'write -P 0x33 64k 32k' 'write -z 1M 64k' 'write -P 0x34 2M 4k'
finish_case

begin_case backing-raw
run qemu-img create -f raw base.raw 1M
io base.raw 'write -P 0x44 0 128k' 'write -P 0x45 512k 64k'
create_main -f qcow2 -b base.raw -F raw img.qcow2 1M
io img.qcow2 'write -P 0x55 64k 64k'
finish_case

begin_case backing-short
run qemu-img create -f qcow2 base.qcow2 1M
io base.qcow2 'write -P 0x66 0 1M'
create_main -f qcow2 -b base.qcow2 -F qcow2 img.qcow2 4M
io img.qcow2 'write -P 0x77 960k 128k' 'write -P 0x78 3M 64k'
finish_case

begin_case snapshots
create_main -f qcow2 img.qcow2 4M
io img.qcow2 'write -P 0x11 0 128k'
run qemu-img snapshot -c snap1 img.qcow2
io img.qcow2 'write -P 0x22 64k 128k'
run qemu-img snapshot -c snap2 img.qcow2
io img.qcow2 'write -P 0x33 1M 64k'
# make the fixture reproducible: snapshot dates fixed to 2023-11-14 22:13:20 UTC (+1h for snap2)
edit snapdate img.qcow2 1700000000
finish_case

begin_case bitmaps
create_main -f qcow2 img.qcow2 4M
run qemu-img bitmap --add img.qcow2 bm0
run qemu-img bitmap --add -g 128k img.qcow2 bm1
io img.qcow2 'write -P 0x11 0 64k'
run qemu-img bitmap --disable img.qcow2 bm1
io img.qcow2 'write -P 0x22 1M 64k'
finish_case

begin_case data-file
create_main -f qcow2 -o data_file=data.raw img.qcow2 1M
io img.qcow2 'write -P 0x11 0 64k' 'write -P 0x22 512k 4k' 'write -z 768k 64k'
finish_case

begin_case data-file-raw
create_main -f qcow2 -o data_file=data.raw,data_file_raw=on img.qcow2 1M
io img.qcow2 'write -P 0x11 0 64k' 'write -P 0x22 512k 4k' 'write -z 768k 64k'
finish_case

begin_case dirty-flag
create_main -f qcow2 -o lazy_refcounts=on img.qcow2 1M
io img.qcow2 'write -P 0x11 0 128k'
# set incompatible feature bit 0 ("dirty"): header byte 79 |= 0x01. Refcounts are still correct.
edit setbit img.qcow2 0
finish_case

begin_case dirty-lazy-abort
# a "real" dirty image: lazy refcounts + qemu-io aborting after the write, so the
# dirty bit is set by qemu and the refcount of the newly allocated data cluster is 0
create_main -f qcow2 -o lazy_refcounts=on img.qcow2 1M
io img.qcow2 'write -P 0x11 0 128k'
note "qemu-io -c 'write -P 0x22 512k 64k' -c flush -c abort img.qcow2   (exits with SIGABRT)"
sh -c "qemu-io -c 'write -P 0x22 512k 64k' -c flush -c abort img.qcow2 > /dev/null 2>&1" 2> /dev/null || true
finish_case

begin_case corrupt-flag
create_main -f qcow2 img.qcow2 1M
io img.qcow2 'write -P 0x11 0 128k'
# set incompatible feature bit 1 ("corrupt"): header byte 79 |= 0x02
edit setbit img.qcow2 1
finish_case

begin_case odd-size
# 1000000 is not a multiple of 512: qcow2 rounds the virtual size up to 1000448;
# the second write covers the last (partial) cluster 960k..1000448 exactly
create_main -f qcow2 img.qcow2 1000000
io img.qcow2 'write -P 0x11 0 64k' 'write -P 0x22 960k 17k'
finish_case

begin_case prealloc-metadata
# kept at 1M (file is ~1.3M as preallocation=metadata makes the file cover all clusters)
create_main -f qcow2 -o preallocation=metadata img.qcow2 1M
io img.qcow2 'write -P 0x11 64k 64k'
finish_case

begin_case zero-discard
create_main -f qcow2 img.qcow2 2M
io img.qcow2 'write -P 0x11 0 512k' 'write -z 128k 64k' 'discard 256k 64k' \
    'write -z -u 384k 64k' 'write -z 1M 128k'
finish_case

begin_case map-fragmented
# guest clusters written in reverse order -> host offsets decrease -> no merged extents;
# followed by a sequential run that map merges into one extent
create_main -f qcow2 img.qcow2 2M
io img.qcow2 'write -P 0x13 192k 64k' 'write -P 0x12 128k 64k' 'write -P 0x11 64k 64k' \
    'write -P 0x21 1M 64k' 'write -P 0x22 1088k 64k' 'write -P 0x23 1152k 64k'
finish_case

begin_case leaked-cluster
create_main -f qcow2 img.qcow2 1M
io img.qcow2 'write -P 0x11 0 192k'
# Leak: zero the L2 entry of guest cluster 1 (guest offset 64k). The host cluster it
# pointed to keeps refcount 1 but is no longer referenced -> check: 1 leaked cluster, rc 3.
note "L2 entry for guest 0x10000 was $($EDIT l2get img.qcow2 0x10000)"
edit l2set img.qcow2 0x10000 0
finish_case

begin_case refcount-corrupt
create_main -f qcow2 img.qcow2 1M
io img.qcow2 'write -P 0x11 0 128k'
# Corruption: set the refcount of the host cluster backing guest offset 0 to 0 (16-bit
# entry in refcount block 0) -> check: "refcount=0 reference=1" + OFLAG_COPIED errors, rc 2.
host=$(( $($EDIT l2get img.qcow2 0) & 0x00fffffffffffe00 ))
note "refcount of host cluster $host was $($EDIT refget img.qcow2 $host)"
edit refset img.qcow2 $host 0
finish_case

begin_case l2-double-reference
create_main -f qcow2 img.qcow2 1M
io img.qcow2 'write -P 0x11 0 64k' 'write -P 0x22 64k 64k'
# Corruption + leak: make the L2 entry of guest 64k a copy of the L2 entry of guest 0.
# Host cluster of guest 0 gets reference=2 with refcount=1 (corruption), the old host
# cluster of guest 64k becomes leaked.
e0=$($EDIT l2get img.qcow2 0)
note "L2 entry for guest 0x10000 was $($EDIT l2get img.qcow2 0x10000), set to $e0"
edit l2set img.qcow2 0x10000 "$e0"
finish_case

# Encrypted images (LUKS and the legacy AES method). A secret is needed to create them, not to report on them:
# info reads the LUKS header only; check and map ask for the secret and fail, as q2 does. LUKS salts and the UUID
# are random (the stored outputs match the stored image); iter-time=10 keeps creation fast, and the slots' key
# material (random, never read by info) is zeroed so the stored images compress.
SECRET="--object secret,id=sec0,data=abc"

begin_case luks-default
create_main -f qcow2 $SECRET -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 img.qcow2 4M
edit lukszero img.qcow2
finish_case

begin_case luks-aes128-cbc-essiv
create_main -f qcow2 $SECRET -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.hash-alg=sha1 img.qcow2 4M
edit lukszero img.qcow2
finish_case

begin_case luks-two-slots
create_main -f qcow2 $SECRET -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=twofish-128,encrypt.hash-alg=sha512 img.qcow2 4M
# a second key slot, added with the first secret
run qemu-img amend $SECRET --object secret,id=sec1,data=def -o encrypt.state=active,encrypt.new-secret=sec1,encrypt.iter-time=10 --image-opts driver=qcow2,file.filename=img.qcow2,encrypt.key-secret=sec0
edit lukszero img.qcow2
finish_case

begin_case luks-compat010
create_main -f qcow2 $SECRET -o compat=0.10,encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=serpent-256,encrypt.ivgen-alg=plain img.qcow2 1M
edit lukszero img.qcow2
finish_case

begin_case luks-backing
run qemu-img create -f qcow2 $SECRET -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 base.qcow2 4M
edit lukszero base.qcow2
create_main -f qcow2 -b base.qcow2 -F qcow2 img.qcow2
finish_case

begin_case aes-legacy
create_main -f qcow2 $SECRET -o encrypt.format=aes,encrypt.key-secret=sec0 img.qcow2 4M
finish_case

begin_case aes-compat010
create_main -f qcow2 $SECRET -o compat=0.10,encryption=on,encrypt.key-secret=sec0 img.qcow2 4M
finish_case

# ---------------------------------------------------------------- create matrix

# prepare the backing files a create line may refer to (in its own folder)
prep_backing() {
    case " $* " in
        *" base.qcow2 "*|*"backing_file=base.qcow2"*)
            qemu-img create -f qcow2 base.qcow2 4M > /dev/null ;;
    esac
    case " $* " in
        *" base.raw "*)
            qemu-img create -f raw base.raw 1M > /dev/null ;;
    esac
}

# Lines are shell words (only '' is used, for an empty argument).
run_create_list() {
    local list=$1 outdir=$2 n=0 line f sz a rc
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        local d
        d=$(printf '%s/%02d' "$outdir" "$n")
        mkdir -p "$d"
        cd "$d"
        eval "a=($line)"
        prep_backing "${a[@]}"
        set +e
        qemu-img create -f qcow2 "${a[@]}" > stdout 2> stderr
        rc=$?
        set -e
        echo "$rc" > rc
        for f in $(ls | grep -E '\.(qcow2|raw)$' || true); do
            desparse "$f"
            sz=$(stat -c %s "$f")
            if [ "$f" = img.qcow2 ]; then
                echo "$(sha256sum < "$f" | cut -d' ' -f1) $sz" > image.sha256
            fi
            if [ "$sz" -gt "$BIG" ]; then
                gzip -9 -n "$f"
            fi
        done
        cd "$HERE"
    done < "$list"
}

run_create_list "$HERE/create-cases.txt" "$HERE/create"
run_create_list "$HERE/create-errors.txt" "$HERE/create-errors"

echo "$QEMU_VERSION" > "$HERE/cases/QEMU_VERSION"
echo "fixtures written ($(du -sh --apparent-size "$HERE" | cut -f1) apparent)"
