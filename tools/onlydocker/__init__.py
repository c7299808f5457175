"""kvm, the onlydocker launcher, as a package: cli (options), machine (the QEMU command and its
life), disk, lan (the private segment's switch), runspec (--run's docker-run subset), runport (the
run port's frames and relay), shared (the constants init shares, from init/runport.conf)."""
