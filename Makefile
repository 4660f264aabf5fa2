# bpfnet: one non-recursive Makefile.
#   make            BPF objects, skeletons, programs under build/
#   make deps       install the Debian packages the project needs
#   make test       the whole suite (installs dependencies first)
#   make bench      benchmarks, with baselines measured in the same run
#   make fuzz       every parser of outside input under libFuzzer, 10 M inputs each
#   make demo       local demo in network namespaces
#   make vmtest     the suite inside VMs booting Debian's 6.1 (KERNELS=... for more)
#   make install    PREFIX=/usr/local DESTDIR= CNI_BIN_DIR=/opt/cni/bin
#   V=1             show full commands

OUT         ?= build
PREFIX      ?= /usr/local
DESTDIR     ?=
CNI_BIN_DIR ?= /opt/cni/bin

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)

BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -Iinclude -I$(ARCH_INC)
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
              -Iinclude -Ilib -Iagent -Icni-plugin -I$(OUT)/skel -MMD -MP
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS     := -lbpf -lelf -lz

# ---- dependencies: every build step waits for them ----
DEPS_STAMP := $(OUT)/.deps-installed

$(DEPS_STAMP): tools/install-deps.sh
	$(Q)bash tools/install-deps.sh
	$(Q)mkdir -p $(@D) && touch $@

.PHONY: deps
deps:
	$(Q)bash tools/install-deps.sh
	$(Q)mkdir -p $(OUT) && touch $(DEPS_STAMP)

# ---- BPF objects and skeletons ----
BPF_HDRS := $(wildcard bpf/lib/*.h include/bpfnet/*.h)

$(OUT)/bpf/%.o: bpf/%.c $(BPF_HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bpf/test_%.o: tests/progs/%.c $(BPF_HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/skel/bpfnet_%.skel.h: $(OUT)/bpf/bpf_%.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name bpfnet_$*_skel > $@.tmp && mv $@.tmp $@

$(OUT)/skel/test_%.skel.h: $(OUT)/bpf/test_%.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name test_$*_skel > $@.tmp && mv $@.tmp $@

BPF_OBJS := $(OUT)/bpf/bpf_maps.o $(OUT)/bpf/bpf_sock.o $(OUT)/bpf/bpf_lxc.o \
            $(OUT)/bpf/bpf_sock_destroy.o
SKELS    := $(OUT)/skel/bpfnet_maps.skel.h $(OUT)/skel/bpfnet_sock.skel.h \
            $(OUT)/skel/bpfnet_lxc.skel.h $(OUT)/skel/bpfnet_sock_destroy.skel.h
TEST_BPF_OBJS := $(OUT)/bpf/test_empty_tc.o $(OUT)/bpf/test_bench_lb.o
BENCH_SKELS   := $(OUT)/skel/test_empty_tc.skel.h $(OUT)/skel/test_bench_lb.skel.h

# ---- userspace: each source is built plain and, for tests, sanitized ----
LIB_SRCS := lib/maps.c lib/maps_batch.c lib/maps_vip.c lib/maps_migrate.c lib/loader.c

$(OUT)/obj/%.o: %.c $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/obj-san/%.o: %.c $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

obj     = $(patsubst %.c,$(OUT)/obj/%.o,$(1))
obj-san = $(patsubst %.c,$(OUT)/obj-san/%.o,$(1))

# ---- programs ----
CLI_SRCS := $(wildcard tools/bpfnet/*.c)
AGENT_SRCS := $(wildcard agent/*.c)
AGENT_LIB_SRCS := $(filter-out agent/main.c,$(AGENT_SRCS))
CNI_SRCS := $(wildcard cni-plugin/*.c)
PROGRAMS := $(OUT)/bin/bpfnet $(OUT)/bin/bpfnetd $(OUT)/bin/bpfnet-cni

$(OUT)/bin/bpfnet-cni: $(call obj,$(CNI_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $^ -o $@ $(LDLIBS) -lcjson -lmnl

$(OUT)/tests/bpfnet-cni: $(call obj-san,$(CNI_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) -lcjson -lmnl

$(OUT)/bin/bpfnetd: $(call obj,$(AGENT_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $^ -o $@ $(LDLIBS) -lcjson -lcurl -lyaml -pthread

$(OUT)/tests/bpfnetd: $(call obj-san,$(AGENT_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) -lcjson -lcurl -lyaml -pthread

$(OUT)/bin/bpfnet: $(call obj,$(CLI_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $^ -o $@ $(LDLIBS) -lcjson -lcurl -lyaml

# the CLI's tests run a sanitized build of it
$(OUT)/tests/bpfnet: $(call obj-san,$(CLI_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) -lcjson -lcurl -lyaml

# ---- tests and benchmarks ----
UNIT_SRCS := $(wildcard tests/unit/*.c)
TESTCTL_SRCS := tests/helpers/bpfnet-testctl.c
NETTOOL_SRCS := tests/helpers/nettool.c
VREPORT_SRCS := tests/helpers/bpfnet-verifier-report.c
BENCH_SRCS := tests/bench/bench_datapath.c tests/unit/packet.c

# the CNI plugin's netlink and IPAM modules are unit-tested on their own
CNI_LIB_SRCS = $(filter-out cni-plugin/main.c cni-plugin/commands.c,$(CNI_SRCS))

# allocation-failure injection (tests/unit/fault.c) wraps our code's allocations
FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup

$(OUT)/tests/bpfnet-unit: $(call obj-san,$(UNIT_SRCS) $(LIB_SRCS) $(AGENT_LIB_SRCS) $(CNI_LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $(FAULT_WRAP) $^ -o $@ $(LDLIBS) -lcjson -lcurl -lyaml -lmnl

$(OUT)/tests/bpfnet-testctl: $(call obj-san,$(TESTCTL_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

# benchmarks measure an uninstrumented build
$(OUT)/bench/nettool: $(call obj,$(NETTOOL_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $^ -o $@

$(OUT)/bench/bpfnet-testctl: $(call obj,$(TESTCTL_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $^ -o $@ $(LDLIBS)

$(OUT)/tests/bpfnet-verifier-report: $(call obj-san,$(VREPORT_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests/nettool: $(call obj-san,$(NETTOOL_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $^ -o $@

$(call obj,$(BENCH_SRCS)): $(BENCH_SKELS)

$(OUT)/tests/bpfnet-bench: $(call obj,$(BENCH_SRCS) $(LIB_SRCS))
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $^ -o $@ $(LDLIBS)

BENCH_BINS := $(OUT)/tests/bpfnet-bench $(OUT)/bench/nettool $(OUT)/bench/bpfnet-testctl

# ---- fuzzing: libFuzzer targets for every parser of outside input ----
# built with clang (libFuzzer, ASan, UBSan); tests/fuzz/run.sh runs them
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Werror -Wno-unused-parameter -Iinclude -Ilib \
               -Iagent -Icni-plugin -Itools/bpfnet $(FUZZ_FLAGS)
FUZZ_TARGETS := json_framer list_reader model kubeconfig cni_request cli_args
FUZZ_BINS := $(patsubst %,$(OUT)/fuzz/fuzz_%,$(FUZZ_TARGETS))

$(OUT)/fuzz/obj/%.o: %.c | $(DEPS_STAMP)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

fuzz-obj = $(patsubst %.c,$(OUT)/fuzz/obj/%.o,$(1))
fuzz_json_framer_SRCS := agent/json_framer.c
fuzz_list_reader_SRCS := agent/list_reader.c
fuzz_model_SRCS := agent/model.c agent/store.c agent/translate.c agent/htab.c
fuzz_kubeconfig_SRCS := agent/kubeconfig.c agent/yaml_json.c agent/readfile.c
fuzz_cni_request_SRCS := cni-plugin/request.c
fuzz_cli_args_SRCS := tools/bpfnet/args.c

define fuzz_target
$(OUT)/fuzz/fuzz_$(1): $(call fuzz-obj,tests/fuzz/fuzz_$(1).c $(fuzz_$(1)_SRCS))
	$$(call msg,LINK,$$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $$^ -o $$@ -lcjson -lyaml
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

# the suite runs a smoke of every benchmark, so it builds them too
TEST_BINS := $(OUT)/tests/bpfnet-unit $(OUT)/tests/bpfnet-testctl $(OUT)/tests/nettool \
             $(OUT)/tests/bpfnet-verifier-report $(OUT)/tests/bpfnet $(OUT)/tests/bpfnetd \
             $(OUT)/tests/bpfnet-cni $(BENCH_BINS) $(FUZZ_BINS) \
             $(TEST_BPF_OBJS)

# ---- top-level targets ----
.DEFAULT_GOAL := all
.PHONY: all test bench demo vmtest install clean fuzz
all: $(BPF_OBJS) $(SKELS) $(PROGRAMS)


test: all $(TEST_BINS)
	$(Q)OUT=$(OUT) bash tests/run.sh $(TESTS)

bench: all $(BENCH_BINS) $(TEST_BPF_OBJS)
	$(Q)OUT=$(OUT) bash tests/bench/run.sh

# 10 M inputs per target (FUZZ_RUNS), at most FUZZ_SECONDS each (600);
# crashes are saved as regression inputs
fuzz: $(FUZZ_BINS)
	$(Q)OUT=$(OUT) bash tests/fuzz/run.sh full $(or $(FUZZ_SECONDS),600)

# KERNELS="linux-image-amd64 linux-image-6.12-amd64" make vmtest
vmtest: all $(TEST_BINS)
	$(Q)OUT=$(OUT) bash tools/vmtest.sh

demo: all $(TEST_BINS) $(OUT)/bin/bpfnetd
	$(Q)OUT=$(OUT) bash tools/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/bpfnet/bpf
	install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/bpfnet/bpf/
	$(if $(PROGRAMS),install -d $(DESTDIR)$(PREFIX)/bin)
	$(foreach p,$(filter-out $(OUT)/bin/bpfnet-cni,$(PROGRAMS)),install -m 0755 $(p) $(DESTDIR)$(PREFIX)/bin/;)
	$(if $(filter $(OUT)/bin/bpfnet-cni,$(PROGRAMS)),install -d $(DESTDIR)$(CNI_BIN_DIR) && install -m 0755 $(OUT)/bin/bpfnet-cni $(DESTDIR)$(CNI_BIN_DIR)/)

clean:
	rm -rf $(OUT)

-include $(shell find $(OUT)/obj $(OUT)/obj-san -name '*.d' 2>/dev/null)
