create -f qcow2 -o lazy_refcounts=on img.qcow2 1M
