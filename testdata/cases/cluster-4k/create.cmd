create -f qcow2 -o cluster_size=4k img.qcow2 4M
