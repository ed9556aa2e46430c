create -f qcow2 --object secret,id=sec0,data=abc -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10 img.qcow2 4M
