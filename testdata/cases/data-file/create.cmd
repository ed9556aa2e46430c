create -f qcow2 -o data_file=data.raw img.qcow2 1M
