create -f qcow2 --object secret,id=sec0,data=abc -o encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=twofish-128,encrypt.hash-alg=sha512 img.qcow2 4M
