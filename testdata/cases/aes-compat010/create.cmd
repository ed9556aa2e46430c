create -f qcow2 --object secret,id=sec0,data=abc -o compat=0.10,encryption=on,encrypt.key-secret=sec0 img.qcow2 4M
