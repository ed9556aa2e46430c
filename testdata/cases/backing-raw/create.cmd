create -f qcow2 -b base.raw -F raw img.qcow2 1M
