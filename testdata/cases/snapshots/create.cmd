create -f qcow2 img.qcow2 4M
