#!/usr/bin/env python3
"""Tiny qcow2 header/metadata editor used by make-fixtures.sh to build
deliberately damaged or otherwise non-qemu-img-producible fixtures.

Usage:
  qcow2edit.py setbit   IMG BIT             set incompatible-feature bit BIT (header offset 72)
  qcow2edit.py l2get    IMG GUEST_OFF       print the (standard, 8-byte) L2 entry mapping GUEST_OFF (hex)
  qcow2edit.py l2set    IMG GUEST_OFF VALUE overwrite that L2 entry with VALUE (int, 0x.. allowed)
  qcow2edit.py refget   IMG HOST_OFF        print the refcount of the host cluster at HOST_OFF
  qcow2edit.py refset   IMG HOST_OFF VALUE  overwrite that refcount (refcount_bits=16 images only)
  qcow2edit.py snapdate IMG BASE_SEC        set date_sec of snapshot i to BASE_SEC + 3600*i,
                                            date_nsec to 0 (makes snapshot fixtures reproducible)
  qcow2edit.py lukszero IMG                 zero the key material of every LUKS key slot (random,
                                            incompressible bytes that info/check/map never read: keeps
                                            LUKS fixtures small; the image can no longer be unlocked)
All numbers in the qcow2 format are big-endian.
"""
import struct
import sys


def header(f):
    f.seek(0)
    h = f.read(104)
    (magic, version, _bfo, _bfs, cluster_bits, size, _crypt, l1_size, l1_off,
     rt_off, rt_clusters, nb_snap, snap_off) = struct.unpack(">IIQIIQIIQQIIQ", h[:72])
    assert magic == 0x514649FB, "not a qcow2 image"
    refcount_order = 4
    if version >= 3:
        refcount_order = struct.unpack(">I", h[96:100])[0]
    return dict(version=version, cluster_bits=cluster_bits, cluster_size=1 << cluster_bits,
                size=size, l1_size=l1_size, l1_off=l1_off, rt_off=rt_off,
                nb_snap=nb_snap, snap_off=snap_off, refcount_order=refcount_order)


def u64(f, off):
    f.seek(off)
    return struct.unpack(">Q", f.read(8))[0]


def l2_entry_pos(f, h, guest):
    cs = h["cluster_size"]
    l2_entries = cs // 8
    l1_idx = guest // (cs * l2_entries)
    l2_idx = (guest // cs) % l2_entries
    l1e = u64(f, h["l1_off"] + 8 * l1_idx)
    l2_off = l1e & 0x00FFFFFFFFFFFE00
    assert l2_off, "no L2 table for that guest offset"
    return l2_off + 8 * l2_idx


def ref_entry_pos(f, h, host):
    assert h["refcount_order"] == 4, "only refcount_bits=16 supported"
    cs = h["cluster_size"]
    cluster = host // cs
    per_block = cs // 2
    rt_e = u64(f, h["rt_off"] + 8 * (cluster // per_block))
    assert rt_e, "no refcount block"
    return rt_e + 2 * (cluster % per_block)


def main():
    cmd, img = sys.argv[1], sys.argv[2]
    args = [int(a, 0) for a in sys.argv[3:]]
    with open(img, "r+b") as f:
        h = header(f)
        if cmd == "setbit":
            v = u64(f, 72)
            f.seek(72)
            f.write(struct.pack(">Q", v | (1 << args[0])))
        elif cmd == "l2get":
            print("0x%016x" % u64(f, l2_entry_pos(f, h, args[0])))
        elif cmd == "l2set":
            f.seek(l2_entry_pos(f, h, args[0]))
            f.write(struct.pack(">Q", args[1]))
        elif cmd == "refget":
            f.seek(ref_entry_pos(f, h, args[0]))
            print(struct.unpack(">H", f.read(2))[0])
        elif cmd == "refset":
            f.seek(ref_entry_pos(f, h, args[0]))
            f.write(struct.pack(">H", args[1]))
        elif cmd == "snapdate":
            off = h["snap_off"]
            for i in range(h["nb_snap"]):
                f.seek(off)
                e = f.read(40)
                id_len, name_len = struct.unpack(">HH", e[12:16])
                extra = struct.unpack(">I", e[36:40])[0]
                f.seek(off + 16)
                f.write(struct.pack(">II", args[0] + 3600 * i, 0))
                ln = 40 + extra + id_len + name_len
                off += (ln + 7) & ~7
        elif cmd == "lukszero":
            luks_zero_key_material(f)
        else:
            sys.exit("unknown command " + cmd)


def luks_zero_key_material(f):
    f.seek(4)
    version = struct.unpack(">I", f.read(4))[0]
    f.seek(100)
    p = 72 if version == 2 else struct.unpack(">I", f.read(4))[0]
    while True:
        f.seek(p)
        typ, ln = struct.unpack(">II", f.read(8))
        assert typ != 0, "no full disk encryption header extension"
        if typ == 0x0537BE77:
            off = struct.unpack(">Q", f.read(8))[0]
            break
        p += 8 + ((ln + 7) & ~7)
    f.seek(off + 108)
    key_bytes = struct.unpack(">I", f.read(4))[0]
    for i in range(8):
        f.seek(off + 208 + 48 * i + 40)
        sector, stripes = struct.unpack(">II", f.read(8))
        f.seek(off + sector * 512)
        f.write(bytes(key_bytes * stripes))


if __name__ == "__main__":
    main()
