create -f qcow2 -o extended_l2=on img.qcow2 4M
