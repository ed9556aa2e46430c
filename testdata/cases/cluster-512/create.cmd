create -f qcow2 -o cluster_size=512 img.qcow2 1M
