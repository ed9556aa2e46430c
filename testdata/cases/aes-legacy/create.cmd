create -f qcow2 --object secret,id=sec0,data=abc -o encrypt.format=aes,encrypt.key-secret=sec0 img.qcow2 4M
