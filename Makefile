# onlydocker: `make` builds the kernel + initramfs into build/, `make run` boots it, `make test`
# runs the unit tests and the end-to-end suite. Everything third-party comes from Debian's archive.
B := build
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:

INIT_SRC := $(filter-out init/libs.sh,$(wildcard init/*.c))
INIT_HDR := $(wildcard init/*.h)
MUSL := $(B)/musl
MUSL_LIBS := $(MUSL)/.libs.stamp
CFLAGS_INIT := -std=gnu11 -Os -Wall -Wextra -Werror -Wno-unused-result -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -I$(B)/gen -I$(MUSL)/include -isystem $(MUSL)/uapi
LDFLAGS_INIT := -static -s -Wl,--gc-sections -L$(MUSL)/lib
LDLIBS_INIT := -lmount -lblkid -lkmod -lcjson -lhttp_parser

.PHONY: all run test unit-test qemu-test bench deps clean distclean
all: $(B)/initrd.img $(B)/vmlinuz

# Host tools, installed only when missing.
deps:
	@initrd/host-deps.sh

$(B)/.fetched: initrd/fetch.sh initrd/apt.sh | deps
	initrd/fetch.sh $(B)
	touch $@

$(B)/vmlinuz: $(B)/.fetched
	cp $(B)/kernel/vmlinuz $@.tmp && mv $@.tmp $@

# build/versions.txt names every Debian 13 version that went in: fetch.sh's binary packages, then
# the source packages init links ("src:NAME VERSION").
$(MUSL_LIBS): init/libs.sh initrd/apt.sh $(B)/.fetched | deps
	init/libs.sh $(B)
	{ grep -v '^src:' $(B)/versions.txt; sed 's/^/src:/' $(MUSL)/versions.txt; } > $(B)/versions.txt.tmp
	mv $(B)/versions.txt.tmp $(B)/versions.txt
	touch $@

$(B)/images/.stamp: $(B)/.fetched images/build.py images/images.conf $(wildcard images/*.py images/dhcpcd/* images/dom0/*)
	python3 images/build.py --pkgroot $(B)/pkgroot --out $(B)/images --versions $(B)/versions.txt \
		--test-out $(B)/test-images
	touch $@

$(B)/gen/images.h: $(B)/images/.stamp initrd/images-h.py
	mkdir -p $(B)/gen
	python3 initrd/images-h.py images/images.conf $(B)/images > $@.tmp && mv $@.tmp $@

$(B)/init: $(INIT_SRC) $(INIT_HDR) $(MUSL_LIBS) $(B)/gen/images.h
	musl-gcc $(CFLAGS_INIT) -o $@.tmp $(INIT_SRC) $(LDFLAGS_INIT) $(LDLIBS_INIT)
	mv $@.tmp $@
	@echo "init: $$(stat -c %s $@) bytes (static, musl)"

# initrd.img, and beside it engine.img (the engine image, which ./kvm attaches as a read-only disk)
# and initrd-full.img (both in one, for loaders that take only a kernel and an initrd).
$(B)/initrd.img: $(B)/init $(B)/images/.stamp $(B)/.fetched initrd/mkinitrd.sh
	initrd/mkinitrd.sh $(B) $(B)/init $(B)/images $@ $(B)/engine.img $(B)/initrd-full.img

run: deps all
	./kvm

# ---- tests ----
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinit -I$(B)/gen -I$(B)/src/cjson -I$(B)/src/http-parser
$(B)/tests/test_cmdline: init/tests/test_cmdline.c init/cmdline.c init/cmdline.h
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_cmdline.c init/cmdline.c -lcmocka

$(B)/tests/test_engine: init/tests/test_engine.c init/tests/fake_engine.c init/tests/fake_engine.h init/tests/log_stub.c \
		init/tests/log_stub.h init/engine.c init/engine_http.c init/engine_events.c init/engine_version.c init/engine.h init/engine_req.h \
		init/log.h $(MUSL_LIBS)
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_engine.c init/tests/fake_engine.c init/tests/log_stub.c init/engine.c init/engine_http.c \
		init/engine_events.c init/engine_version.c \
		$(B)/src/cjson/cJSON.c $(B)/src/http-parser/http_parser.c -lcmocka

# PID 1 duties (reaper, signals, the shutdown path) run as PID 1 of a PID namespace: needs root.
PID1_SRC := $(addprefix init/,supervise.c loop.c power.c shutdown.c cmdline.c engine.c engine_http.c engine_events.c engine_version.c syscont.c \
	shell.c dockerd.c umount.c mounts.c log.c net.c run.c runport.c runstream.c swarm.c uevent.c pressure.c logfile.c)
$(B)/tests/test_pid1: init/tests/test_pid1.c $(PID1_SRC) $(INIT_HDR) $(B)/gen/images.h $(MUSL_LIBS)
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_pid1.c $(PID1_SRC) $(B)/src/cjson/cJSON.c $(B)/src/http-parser/http_parser.c \
		-lcmocka -lmount

# Module lookup (fixture modules indexed by depmod) and disk labels (image files made by mkfs).
$(B)/tests/test_devices: init/tests/test_devices.c init/modules.c init/modules.h init/disklabel.c init/disklabel.h \
		init/tests/log_stub.c $(B)/gen/images.h
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_devices.c init/modules.c init/disklabel.c init/tests/log_stub.c \
		-lcmocka -lkmod -lblkid

# The run port's framing over a socketpair (kvm --run's line to the host).
$(B)/tests/test_runport: init/tests/test_runport.c init/runport.c init/run.h init/tests/log_stub.c $(INIT_HDR)
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_runport.c init/runport.c init/tests/log_stub.c -lcmocka

# The kernel's OOM kill summaries (oomwatch.c) and pressure stall totals (pressure.c).
$(B)/tests/test_oom: init/tests/test_oom.c init/oomwatch.c init/oomwatch.h init/pressure.c init/pressure.h init/tests/log_stub.c $(INIT_HDR)
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_oom.c init/oomwatch.c init/pressure.c init/tests/log_stub.c -lcmocka

# uevents: only the kernel's (a network namespace of its own, root).
$(B)/tests/test_uevent: init/tests/test_uevent.c init/uevent.c init/tests/log_stub.c $(INIT_HDR)
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_uevent.c init/uevent.c init/tests/log_stub.c -lcmocka

# The logger and a console that stops reading; dockerd's bounded log file.
$(B)/tests/test_log: init/tests/test_log.c init/log.c init/log.h init/logfile.c init/logfile.h
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_log.c init/log.c init/logfile.c -lcmocka

# The applets (modprobe, poweroff...) and the signals PID 1 blocks.
$(B)/tests/test_applets: init/tests/test_applets.c init/applets.c $(INIT_HDR)
	mkdir -p $(B)/tests
	gcc $(UNIT_CFLAGS) -o $@ init/tests/test_applets.c init/applets.c -lcmocka

UNIT_TESTS := $(B)/tests/test_cmdline $(B)/tests/test_engine $(B)/tests/test_pid1 $(B)/tests/test_devices \
	$(B)/tests/test_runport $(B)/tests/test_oom $(B)/tests/test_uevent \
	$(B)/tests/test_log $(B)/tests/test_applets
unit-test: $(UNIT_TESTS) $(B)/images/.stamp
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $$t || fail=1; done; \
	echo "== images/check.py"; python3 images/check.py --pkgroot $(B)/pkgroot --versions $(B)/versions.txt $(B)/images || fail=1; exit $$fail

qemu-test: deps all
	python3 qemu-tests/run.py

test: deps all unit-test qemu-test

# Boot timings, memory, sizes: build/bench.json and build/bench.md (BENCH_BOOTS=N, default 5).
bench: deps all
	python3 qemu-tests/bench.py


clean:
	rm -rf $(B)/init $(B)/initrd.img $(B)/engine.img $(B)/initrd-full.img $(B)/images $(B)/gen $(B)/tests $(B)/qemu-tests
distclean:
	rm -rf $(B)
