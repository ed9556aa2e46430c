create -f qcow2 -o extended_l2=on,cluster_size=128k img.qcow2 1T
