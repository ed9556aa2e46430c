create -f qcow2 -o compression_type=zstd img.qcow2 1G
