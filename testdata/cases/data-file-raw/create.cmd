create -f qcow2 -o data_file=data.raw,data_file_raw=on img.qcow2 1M
