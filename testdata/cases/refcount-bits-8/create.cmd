create -f qcow2 -o refcount_bits=8 img.qcow2 1M
