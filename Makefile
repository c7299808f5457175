# onlydocker: `make` builds the kernel + initramfs into build/, `make run` boots it, `make test`
# runs the unit tests and the end-to-end suite. Everything third-party comes from Debian's archive.
B := build
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:

INIT_SRC := $(filter-out init/libs.sh,$(wildcard init/*.c))
MUSL := $(B)/musl
MUSL_LIBS := $(MUSL)/.libs.stamp
CFLAGS_INIT := -std=gnu11 -Os -Wall -Wextra -Werror -Wno-unused-result -ffunction-sections -fdata-sections \
	-fno-asynchronous-unwind-tables -I$(B)/gen -I$(MUSL)/include -isystem $(MUSL)/uapi
LDFLAGS_INIT := -static -s -Wl,--gc-sections -L$(MUSL)/lib
LDLIBS_INIT := -lmount -lblkid -lkmod -lcjson -lhttp_parser -lyaml

.PHONY: all run test launcher-test unit-test qemu-test qemu-test-all bench deps clean distclean fuzz fuzz-build unit-test-asan image-check
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

# One object per source, with its header dependencies (-MMD -MP); the generated headers come first.
INIT_OBJS := $(patsubst init/%.c,$(B)/obj/init/%.o,$(INIT_SRC))
-include $(INIT_OBJS:.o=.d)
$(B)/obj/init/%.o: init/%.c $(MUSL_LIBS) | $(B)/gen/images.h $(B)/gen/runport.h
	@mkdir -p $(@D)
	musl-gcc $(CFLAGS_INIT) -MMD -MP -c -o $@ $<
$(B)/init: $(INIT_OBJS)
	musl-gcc -o $@.tmp $(INIT_OBJS) $(LDFLAGS_INIT) $(LDLIBS_INIT)
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

# Unit tests: init/tests/test_NAME.c with the sources and libraries below, one object per source
# (header dependencies from -MMD -MP). They need only host packages (cmocka, and bookworm's
# libcjson-dev and libhttp-parser-dev for the engine client): no Debian 13 fetch, no image build.
# images.h is a fixture with placeholder IDs (initrd/images-h.py with no archives); runport.h is
# init's own (tools/onlydocker/shared.py), which needs no build either.
UNIT_CC ?= gcc
UNIT_SAN ?=
UNIT_DIR ?= $(B)/tests
UNIT_GEN := $(UNIT_DIR)/gen
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -MMD -MP -Iinit -I$(UNIT_GEN) -I$(B)/gen -I/usr/include/cjson
UNIT_NAMES := cmdline cfgdoc writefiles engine pid1 devices runport oom uevent log applets enginelife syscont workloads timesync
UNIT_SRC_cmdline := init/cmdline.c
# The configuration document (YAML, bookworm's libyaml here) onto the command line's key table.
UNIT_SRC_cfgdoc := init/cfgdoc.c init/cfgdoc_entry.c init/cfgdoc_units.c init/cfgdoc_host.c init/cfgdoc_time.c init/base64.c init/cmdline.c
UNIT_LIBS_cfgdoc := -lyaml -lcjson
# write_files' writer against a scratch directory: path rules, symbolic links, modes, owners, append.
UNIT_SRC_writefiles := init/writefiles.c init/base64.c init/cmdline.c init/tests/log_stub.c
UNIT_LIBS_writefiles := -lcjson
UNIT_SRC_engine := init/engine.c init/engine_http.c init/bytebuf.c init/engine_events.c init/engine_version.c \
	init/tests/fake_engine.c init/tests/log_stub.c
UNIT_LIBS_engine := -lcjson -lhttp_parser
# PID 1 duties (reaper, signals, the shutdown path) run as PID 1 of a PID namespace: needs root.
UNIT_SRC_pid1 := init/supervise.c init/loop.c init/signals.c init/shutdown.c init/final.c init/tests/log_stub.c
UNIT_LIBS_pid1 := -lmount
# Module lookup (fixture modules indexed by depmod) and disk labels (image files made by mkfs), with
# the real logger: no stubs.
UNIT_SRC_devices := init/modules.c init/disklabel.c init/fileio.c init/log.c init/logfile.c
UNIT_LIBS_devices := -lkmod -lblkid
# The run port's framing over a socketpair (kvm --run's line to the host).
UNIT_SRC_runport := init/runport.c init/bytebuf.c init/tests/log_stub.c
# The kernel's OOM kill summaries (oomwatch.c) and pressure stall totals (pressure.c).
UNIT_SRC_oom := init/oomwatch.c init/pressure.c init/tests/log_stub.c
# uevents: only the kernel's (a network namespace of its own, root).
UNIT_SRC_uevent := init/uevent.c init/tests/log_stub.c
# The logger and a console that stops reading; dockerd's bounded log file.
UNIT_SRC_log := init/log.c init/logfile.c
# The applets (modprobe, poweroff...) and the signals PID 1 blocks.
UNIT_SRC_applets := init/applets.c
# The engine's up/down listeners (enginelife.c) alone.
UNIT_SRC_enginelife := init/enginelife.c
# The system containers' state machine (syscont.c, which the test includes whole) against a fake
# engine client.
UNIT_SRC_syscont := init/syscont_spec.c init/cmdline.c init/tests/fake_client.c init/tests/log_stub.c
UNIT_LIBS_syscont := -lcjson
# The document's containers (workloads.c, which the test includes whole) against a fake engine
# client, from documents read by the real parser.
UNIT_SRC_workloads := init/workload_spec.c init/syscont_spec.c init/cfgdoc.c init/cfgdoc_entry.c init/cfgdoc_units.c \
	init/cfgdoc_host.c init/cfgdoc_time.c init/base64.c init/cmdline.c init/tests/fake_client.c init/tests/log_stub.c
UNIT_LIBS_workloads := -lyaml -lcjson
# Time (timesync.c, which the test includes whole): where the NTP servers come from, chronyd's lines.
UNIT_SRC_timesync := init/cfgdoc.c init/cfgdoc_entry.c init/cfgdoc_units.c init/cfgdoc_host.c init/cfgdoc_time.c \
	init/base64.c init/cmdline.c init/tests/log_stub.c
UNIT_LIBS_timesync := -lyaml -lcjson

UNIT_TESTS := $(addprefix $(UNIT_DIR)/test_,$(UNIT_NAMES))
unit_objs = $(UNIT_DIR)/obj/init/tests/test_$1.o $(patsubst %.c,$(UNIT_DIR)/obj/%.o,$(UNIT_SRC_$1))
UNIT_OBJS := $(sort $(foreach t,$(UNIT_NAMES),$(call unit_objs,$(t))))
-include $(UNIT_OBJS:.o=.d)

$(UNIT_GEN)/images.h: images/images.conf initrd/images-h.py
	mkdir -p $(@D)
	python3 initrd/images-h.py images/images.conf - > $@.tmp && mv $@.tmp $@
$(UNIT_DIR)/obj/%.o: %.c | $(UNIT_GEN)/images.h $(B)/gen/runport.h deps
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_SAN) -c -o $@ $<
.SECONDEXPANSION:
$(UNIT_TESTS): $(UNIT_DIR)/test_%: $$(call unit_objs,$$*)
	$(UNIT_CC) $(UNIT_SAN) -o $@ $^ $(UNIT_LIBS_$*) -lcmocka

unit-test: $(UNIT_TESTS)
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# The unit tests again, built with ASan and UBSan (clang): memory errors and undefined behaviour fail them.
unit-test-asan:
	$(MAKE) --no-print-directory B=$(B) UNIT_CC=clang UNIT_SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		UNIT_DIR=$(B)/tests-asan unit-test

# The bundled images against what went into them (packages, versions, files): needs the image build.
image-check: $(B)/images/.stamp
	python3 images/check.py --pkgroot $(B)/pkgroot --versions $(B)/versions.txt $(B)/images

# ---- fuzzing: libFuzzer targets for every parser of outside input, clang with ASan and UBSan ----
# `make fuzz` runs each for FUZZ_SECONDS (default 30) from its seed corpus (init/fuzz/corpus/NAME,
# kept in the tree; what the fuzzer finds goes to build/fuzz/corpus/NAME). A crash leaves its
# input in build/fuzz/ and fails the target.
FUZZ_SECONDS ?= 30
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Iinit -I$(B)/gen -I$(B)/src/cjson -I$(B)/src/http-parser
FUZZ_TARGETS := cmdline cfgdoc http events runport kernel mountinfo spec
FUZZ_SRC_cmdline := init/cmdline.c
# libyaml's parser from its source, with the version defines its configure would give.
FUZZ_SRC_cfgdoc := init/cfgdoc.c init/cfgdoc_entry.c init/cfgdoc_units.c init/cfgdoc_host.c init/cfgdoc_time.c init/base64.c init/cmdline.c $(B)/src/cjson/cJSON.c $(addprefix $(B)/src/libyaml/,api.c reader.c scanner.c parser.c loader.c) \
	-I$(B)/src/libyaml $$(cat $(B)/src/libyaml/defines.txt)
FUZZ_SRC_http := init/engine_http.c init/bytebuf.c $(B)/src/http-parser/http_parser.c init/tests/log_stub.c
FUZZ_SRC_events := init/engine_events.c $(B)/src/cjson/cJSON.c init/tests/log_stub.c
FUZZ_SRC_runport := init/runport.c init/bytebuf.c init/tests/log_stub.c
FUZZ_SRC_kernel := init/uevent.c init/oomwatch.c init/pressure.c init/tests/log_stub.c
FUZZ_SRC_mountinfo :=
FUZZ_LIBS_mountinfo := -lmount
FUZZ_SRC_spec := init/cmdline.c $(B)/src/cjson/cJSON.c
FUZZ_BINS := $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_TARGETS))
$(B)/fuzz/fuzz_%: init/fuzz/fuzz_%.c $(INIT_SRC) $(wildcard init/*.h) $(B)/gen/images.h $(B)/gen/runport.h $(MUSL_LIBS) | deps
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
test: launcher-test deps unit-test unit-test-asan all image-check
	$(MAKE) --no-print-directory -j$(FUZZ_JOBS) -k B=$(B) FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) fuzz
	$(MAKE) --no-print-directory B=$(B) qemu-test

# Boot timings, memory, sizes: build/bench.json and build/bench.md (BENCH_BOOTS=N, default 5).
bench: deps all
	python3 qemu-tests/bench.py


clean:
	rm -rf $(B)/init $(B)/initrd.img $(B)/engine.img $(B)/initrd-full.img $(B)/images $(B)/gen $(B)/tests $(B)/qemu-tests
distclean:
	rm -rf $(B)
