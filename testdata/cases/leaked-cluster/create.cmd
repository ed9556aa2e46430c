create -f qcow2 img.qcow2 1M
