create -f qcow2 -o cluster_size=2M img.qcow2 8M
