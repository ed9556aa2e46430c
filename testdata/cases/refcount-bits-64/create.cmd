create -f qcow2 -o refcount_bits=64 img.qcow2 1M
