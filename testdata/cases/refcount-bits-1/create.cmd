create -f qcow2 -o refcount_bits=1 img.qcow2 1M
