create -f qcow2 -b base.qcow2 -F qcow2 img.qcow2
