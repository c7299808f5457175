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

.PHONY: all run test launcher-test unit-test qemu-test qemu-test-all bench deps clean distclean fuzz fuzz-build unit-test-asan
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

# The constants kvm and init share (the run port), from one file: kvm reads it, init includes this.
$(B)/gen/runport.h: init/runport.conf tools/onlydocker/shared.py
	mkdir -p $(B)/gen
	python3 tools/onlydocker/shared.py init/runport.conf > $@.tmp && mv $@.tmp $@

$(B)/init: $(INIT_SRC) $(INIT_HDR) $(MUSL_LIBS) $(B)/gen/images.h $(B)/gen/runport.h
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
# The launcher (./kvm, tools/onlydocker/): its parsers, QEMU command and LAN switch; no build, no QEMU.
launcher-test:
	python3 -m unittest discover -s tools -v

UNIT_CC ?= gcc
UNIT_SAN ?=
UNIT_DIR ?= $(B)/tests
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinit -I$(B)/gen -I$(B)/src/cjson -I$(B)/src/http-parser
$(UNIT_DIR)/test_cmdline: init/tests/test_cmdline.c init/cmdline.c init/cmdline.h
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_cmdline.c init/cmdline.c -lcmocka

$(UNIT_DIR)/test_engine: init/tests/test_engine.c init/tests/fake_engine.c init/tests/fake_engine.h init/tests/log_stub.c \
		init/tests/log_stub.h init/engine.c init/engine_http.c init/engine_events.c init/engine_version.c init/engine.h init/engine_req.h \
		init/log.h $(MUSL_LIBS)
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_engine.c init/tests/fake_engine.c init/tests/log_stub.c init/engine.c init/engine_http.c \
		init/engine_events.c init/engine_version.c \
		$(B)/src/cjson/cJSON.c $(B)/src/http-parser/http_parser.c -lcmocka

# PID 1 duties (reaper, signals, the shutdown path) run as PID 1 of a PID namespace: needs root.
PID1_SRC := $(addprefix init/,supervise.c loop.c signals.c shutdown.c final.c)
$(UNIT_DIR)/test_pid1: init/tests/test_pid1.c $(PID1_SRC) init/tests/log_stub.c $(INIT_HDR) $(MUSL_LIBS)
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_pid1.c $(PID1_SRC) init/tests/log_stub.c -lcmocka -lmount

# Module lookup (fixture modules indexed by depmod) and disk labels (image files made by mkfs).
$(UNIT_DIR)/test_devices: init/tests/test_devices.c init/modules.c init/modules.h init/disklabel.c init/disklabel.h \
		init/fileio.c init/tests/log_stub.c $(B)/gen/images.h
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_devices.c init/modules.c init/disklabel.c init/fileio.c init/tests/log_stub.c \
		-lcmocka -lkmod -lblkid

# The run port's framing over a socketpair (kvm --run's line to the host).
$(UNIT_DIR)/test_runport: init/tests/test_runport.c init/runport.c init/run.h init/tests/log_stub.c $(INIT_HDR) $(B)/gen/runport.h
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_runport.c init/runport.c init/tests/log_stub.c -lcmocka

# The kernel's OOM kill summaries (oomwatch.c) and pressure stall totals (pressure.c).
$(UNIT_DIR)/test_oom: init/tests/test_oom.c init/oomwatch.c init/oomwatch.h init/pressure.c init/pressure.h init/tests/log_stub.c $(INIT_HDR)
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_oom.c init/oomwatch.c init/pressure.c init/tests/log_stub.c -lcmocka

# uevents: only the kernel's (a network namespace of its own, root).
$(UNIT_DIR)/test_uevent: init/tests/test_uevent.c init/uevent.c init/tests/log_stub.c $(INIT_HDR)
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_uevent.c init/uevent.c init/tests/log_stub.c -lcmocka

# The logger and a console that stops reading; dockerd's bounded log file.
$(UNIT_DIR)/test_log: init/tests/test_log.c init/log.c init/log.h init/logfile.c init/logfile.h
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_log.c init/log.c init/logfile.c -lcmocka

# The applets (modprobe, poweroff...) and the signals PID 1 blocks.
$(UNIT_DIR)/test_applets: init/tests/test_applets.c init/applets.c $(INIT_HDR)
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_applets.c init/applets.c -lcmocka

# The system containers' state machine (syscont.c, syscont_spec.c) against a fake engine client.
$(UNIT_DIR)/test_syscont: init/tests/test_syscont.c init/syscont.c init/syscont_spec.c init/cmdline.c init/tests/log_stub.c \
		$(INIT_HDR) $(B)/gen/images.h $(MUSL_LIBS)
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_syscont.c init/syscont_spec.c init/cmdline.c \
		init/tests/log_stub.c $(B)/src/cjson/cJSON.c -lcmocka

# The engine's up/down listeners (enginelife.c) alone.
$(UNIT_DIR)/test_enginelife: init/tests/test_enginelife.c init/enginelife.c init/enginelife.h
	mkdir -p $(UNIT_DIR)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ init/tests/test_enginelife.c init/enginelife.c -lcmocka

# ---- fuzzing: libFuzzer targets for every parser of outside input, clang with ASan and UBSan ----
# `make fuzz` runs each for FUZZ_SECONDS (default 30) from its seed corpus (init/fuzz/corpus/NAME,
# kept in the tree; what the fuzzer finds goes to build/fuzz/corpus/NAME). A crash leaves its
# input in build/fuzz/ and fails the target.
FUZZ_SECONDS ?= 30
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Iinit -I$(B)/gen -I$(B)/src/cjson -I$(B)/src/http-parser
FUZZ_TARGETS := cmdline http events runport kernel mountinfo spec
FUZZ_SRC_cmdline := init/cmdline.c
FUZZ_SRC_http := init/engine_http.c $(B)/src/http-parser/http_parser.c init/tests/log_stub.c
FUZZ_SRC_events := init/engine_events.c $(B)/src/cjson/cJSON.c init/tests/log_stub.c
FUZZ_SRC_runport := init/runport.c init/tests/log_stub.c
FUZZ_SRC_kernel := init/uevent.c init/oomwatch.c init/pressure.c init/tests/log_stub.c
FUZZ_SRC_mountinfo :=
FUZZ_LIBS_mountinfo := -lmount
FUZZ_SRC_spec := init/cmdline.c $(B)/src/cjson/cJSON.c
FUZZ_BINS := $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_TARGETS))
$(B)/fuzz/fuzz_%: init/fuzz/fuzz_%.c $(INIT_SRC) $(INIT_HDR) $(B)/gen/images.h $(B)/gen/runport.h $(MUSL_LIBS) | deps
	mkdir -p $(B)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) $(FUZZ_LIBS_$*)
fuzz-build: $(FUZZ_BINS)
# One rule per target, so `make -j2 fuzz` searches two at once (each fuzzer is one process).
FUZZ_RUNS := $(addprefix fuzz-run-,$(FUZZ_TARGETS))
.PHONY: $(FUZZ_RUNS)
fuzz: $(FUZZ_RUNS)
$(FUZZ_RUNS): fuzz-run-%: $(B)/fuzz/fuzz_%
	@mkdir -p $(B)/fuzz/corpus/$*
	@$(B)/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix=$(B)/fuzz/$*- $(B)/fuzz/corpus/$* init/fuzz/corpus/$* 2>$(B)/fuzz/$*.log \
		&& echo "== fuzz_$*: $(FUZZ_SECONDS) s: $$(tail -1 $(B)/fuzz/$*.log)" \
		|| { echo "== fuzz_$*: FAILED"; tail -30 $(B)/fuzz/$*.log; exit 1; }

# The unit tests again, built with ASan and UBSan (clang): memory errors and undefined behaviour fail them.
unit-test-asan:
	$(MAKE) --no-print-directory B=$(B) UNIT_CC=clang UNIT_SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		UNIT_DIR=$(B)/tests-asan unit-test

UNIT_TESTS := $(UNIT_DIR)/test_cmdline $(UNIT_DIR)/test_engine $(UNIT_DIR)/test_pid1 $(UNIT_DIR)/test_devices \
	$(UNIT_DIR)/test_runport $(UNIT_DIR)/test_oom $(UNIT_DIR)/test_uevent \
	$(UNIT_DIR)/test_log $(UNIT_DIR)/test_applets $(UNIT_DIR)/test_enginelife $(UNIT_DIR)/test_syscont
unit-test: $(UNIT_TESTS) $(B)/images/.stamp
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $$t || fail=1; done; \
	echo "== images/check.py"; python3 images/check.py --pkgroot $(B)/pkgroot --versions $(B)/versions.txt $(B)/images || fail=1; exit $$fail

# make test leaves out the slowest multi-boot tests (CI stops at 30 minutes); qemu-test-all runs them.
QEMU_TESTS_SKIP ?= test_reliability\.test_a_power_cut_then_a_full_disk
qemu-test: deps all
	QEMU_TESTS_SKIP='$(QEMU_TESTS_SKIP)' python3 qemu-tests/run.py

qemu-test-all: deps all
	QEMU_TESTS_SKIP= python3 qemu-tests/run.py

# make test fuzzes each target for FUZZ_TEST_SECONDS (30), two at a time (CI's machine has two cores):
# about two minutes for the seven.
FUZZ_TEST_SECONDS ?= 30
FUZZ_JOBS ?= 2
test: launcher-test deps all unit-test unit-test-asan
	$(MAKE) --no-print-directory -j$(FUZZ_JOBS) -k B=$(B) FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) fuzz
	$(MAKE) --no-print-directory B=$(B) qemu-test

# Boot timings, memory, sizes: build/bench.json and build/bench.md (BENCH_BOOTS=N, default 5).
bench: deps all
	python3 qemu-tests/bench.py


clean:
	rm -rf $(B)/init $(B)/initrd.img $(B)/engine.img $(B)/initrd-full.img $(B)/images $(B)/gen $(B)/tests $(B)/qemu-tests
distclean:
	rm -rf $(B)
