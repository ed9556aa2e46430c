create -f qcow2 -o compat=0.10 img.qcow2 4M
