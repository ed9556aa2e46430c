create -f qcow2 -b mid.qcow2 -F qcow2 img.qcow2
