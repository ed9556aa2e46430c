create -f qcow2 -o preallocation=metadata img.qcow2 1M
