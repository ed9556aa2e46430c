create -f qcow2 --object secret,id=sec0,data=abc -o compat=0.10,encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,encrypt.cipher-alg=serpent-256,encrypt.ivgen-alg=plain img.qcow2 1M
