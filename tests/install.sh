#!/usr/bin/env bash
# The library as a user gets it: `make install` into a temporary prefix, the examples of apps/
# built against it with `pkg-config --cflags --libs nn` alone (shared and static), <nn.h> read
# by a C++ compiler, the examples run and their output checked, run again under valgrind,
# the man page checked against `nnrun --help`; then `make uninstall` must leave no file, and
# the same for an install staged with DESTDIR.
# Usage: tests/install.sh   (run from the repository root, after `make` and `make data`)
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # DESCRIPTION -- COMMAND...: passes when COMMAND succeeds
    local what=$1; shift 2
    if "$@" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "$what: $(head -c 2000 "$tmp/err")"; fi
}
mnist=data/mnist
prefix=$tmp/prefix
version=$(sed -n 's/^NN_VERSION *:= *//p' lib.mk)

check "make install" -- make -s install PREFIX="$prefix"
for f in bin/nnrun lib/libnn.a "lib/libnn.so.$version" lib/libnn.so.0 lib/libnn.so include/nn.h \
         include/nn/graph.h include/nn/layer.h lib/pkgconfig/nn.pc share/man/man1/nnrun.1; do
    [ -e "$prefix/$f" ] && ok || bad "not installed: $f"
done
[ "$(readlink "$prefix/lib/libnn.so.0")" = "libnn.so.$version" ] && ok || bad "libnn.so.0 link"
[ "$(readlink "$prefix/lib/libnn.so")" = "libnn.so.0" ] && ok || bad "libnn.so link"
readelf -d "$prefix/lib/libnn.so.$version" | grep -q 'SONAME.*\[libnn.so.0\]' && ok || bad "soname"
others=$(nm -D --defined-only "$prefix/lib/libnn.so.$version" | awk '{print $3}' | grep -v '^nn_')
[ -z "$others" ] && ok || bad "exported names without the nn_ prefix: $others"
n_exported=$(nm -D --defined-only "$prefix/lib/libnn.so.$version" | wc -l)
[ "$n_exported" -gt 100 ] && ok || bad "only $n_exported names exported"

# Build as a user would: only what pkg-config says, from a directory without the sources.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion nn)" = "$version" ] && ok || bad "pkg-config --modversion nn"
mkdir -p "$tmp/user"
cp apps/classify.c apps/custom_layer.c apps/two_branch.c tests/cxx_header.cpp "$tmp/user/"
static_libs=$(pkg-config --static --libs nn | sed 's/-lnn /-l:libnn.a /')
for ex in classify custom_layer two_branch; do
    # shellcheck disable=SC2046
    check "build $ex (shared)" -- cc -std=c11 -Wall -Wextra -Werror -o "$tmp/$ex" \
        "$tmp/user/$ex.c" $(pkg-config --cflags --libs nn)
    # shellcheck disable=SC2086
    check "build $ex (static)" -- cc -std=c11 -Wall -Wextra -Werror -o "$tmp/$ex-static" \
        "$tmp/user/$ex.c" $(pkg-config --cflags nn) $static_libs
done
export LD_LIBRARY_PATH=$prefix/lib
ldd "$tmp/classify" | grep -q "libnn.so.0 => $prefix/lib/libnn.so.0" && ok \
    || bad "classify does not load the installed libnn.so.0: $(ldd "$tmp/classify")"
ldd "$tmp/classify-static" | grep -q libnn && bad "the static build needs libnn.so" || ok
# shellcheck disable=SC2046
check "C++ reads nn.h" -- g++ -std=c++11 -Wall -Wextra -Werror -pedantic -o "$tmp/cxx" \
    "$tmp/user/cxx_header.cpp" $(pkg-config --cflags --libs nn)
check "C++ program runs" -- "$tmp/cxx"
grep -q "^nn $version from C++: 51 parameters, class [012]$" "$tmp/out" && ok \
    || bad "C++ output: $(cat "$tmp/out")"

# classify: a checkpoint from the installed nnrun, then the first 30 test digits as PGM files.
check "nnrun train" -- "$prefix/bin/nnrun" configs/lenet5.yaml train --epochs 3 \
    --limit-train 2000 --limit-test 100 --run-dir "$tmp/run"
imgs=() labels=()
for i in $(seq 0 29); do
    { printf 'P5\n28 28\n255\n'
      tail -c +$((17 + i * 784)) "$mnist/t10k-images-idx3-ubyte" | head -c 784; } >"$tmp/d$i.pgm"
    imgs+=("$tmp/d$i.pgm")
    labels+=("$(od -An -tu1 -j $((8 + i)) -N1 "$mnist/t10k-labels-idx1-ubyte" | tr -d ' ')")
done
for build in classify classify-static; do
    check "$build" -- "$tmp/$build" configs/lenet5.yaml "$tmp/run/last.ckpt" "${imgs[@]}"
    right=0
    for i in $(seq 0 29); do
        got=$(sed -n "s|^$tmp/d$i.pgm: ||p" "$tmp/out")
        [ "$got" = "${labels[$i]}" ] && right=$((right + 1))
    done
    [ "$right" -ge 24 ] && ok || bad "$build: only $right of 30 digits right"
    cp "$tmp/out" "$tmp/$build.out"
done
cmp -s "$tmp/classify.out" "$tmp/classify-static.out" && ok || bad "shared and static differ"
# The library's answer is the command's: the same class for every image as `nnrun predict`.
check "nnrun predict" -- "$prefix/bin/nnrun" configs/lenet5.yaml predict \
    --weights "$tmp/run/last.ckpt" "${imgs[@]}"
sed 's/  top:.*//' "$tmp/out" | cmp -s - "$tmp/classify.out" && ok \
    || bad "classify and nnrun predict disagree"
"$tmp/classify" configs/lenet5.yaml "$tmp/run/last.ckpt" configs/lenet5.yaml >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "^classify: configs/lenet5.yaml: " "$tmp/err" && ok \
    || bad "classify on a non-image: $(cat "$tmp/err")"
"$tmp/classify" configs/lenet5.yaml configs/lenet5.yaml "${imgs[0]}" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] && grep -q "not an nnrun checkpoint" "$tmp/err" && ok \
    || bad "classify with a bad checkpoint: $(cat "$tmp/err")"

# custom_layer: its backward pass agrees with finite differences; the loss falls.
check "custom_layer" -- "$tmp/custom_layer" "$mnist" 2000 3
cp "$tmp/out" "$tmp/custom_layer.out"
rel=$(sed -n 's/.*largest difference \([0-9.e+-]*\) of the largest gradient/\1/p' "$tmp/out")
awk -v r="$rel" 'BEGIN { exit !(r != "" && r + 0 < 1e-3) }' && ok || bad "gradient check: '$rel'"
losses() { sed -n 's/^epoch [0-9]*: train loss \([0-9.]*\), test error \([0-9.]*\)%.*/\1 \2/p' "$1"; }
losses "$tmp/out" | awk 'NR == 1 { first = $1 } { last = $1; err = $2; n++ }
    END { exit !(n == 3 && last < 0.6 * first && err < 20) }' && ok \
    || bad "custom_layer training: $(cat "$tmp/out")"
# two_branch: learns, and its weights survive the trip through memory.
check "two_branch" -- "$tmp/two_branch" "$mnist" 2000 3
cp "$tmp/out" "$tmp/two_branch.out"
losses "$tmp/out" | awk 'NR == 1 { first = $1 } { last = $1; err = $2; n++ }
    END { exit !(n == 3 && last < 0.6 * first && err < 25) }' && ok \
    || bad "two_branch training: $(cat "$tmp/out")"
grep -q "1000 of 1000 test images classified the same" "$tmp/out" && ok || bad "weights round trip"

# valgrind: no memory error and no leak in any example.
vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=9)
check "valgrind classify" -- "${vg[@]}" "$tmp/classify" configs/lenet5.yaml \
    "$tmp/run/last.ckpt" "${imgs[@]:0:3}"
check "valgrind classify (error path)" -- bash -c '"$@"; [ $? = 2 ]' _ "${vg[@]}" \
    "$tmp/classify" configs/lenet5.yaml "$tmp/run/last.ckpt" "${imgs[0]}" configs/lenet5.yaml
check "valgrind custom_layer" -- "${vg[@]}" "$tmp/custom_layer" "$mnist" 64 1 50
check "valgrind two_branch" -- "${vg[@]}" "$tmp/two_branch" "$mnist" 64 1 50
check "valgrind C++" -- "${vg[@]}" "$tmp/cxx"

# The man page renders and names every command and option of `nnrun --help`.
MANWIDTH=100 man -l "$prefix/share/man/man1/nnrun.1" >"$tmp/man.txt" 2>/dev/null && ok || bad "man"
"$prefix/bin/nnrun" --help >"$tmp/help.txt"
commands=$(sed -n '/^commands:/,/^options:/{/^  [a-z]/s/^  \([a-z]*\).*/\1/p}' "$tmp/help.txt")
[ -n "$commands" ] && ok || bad "no commands found in nnrun --help"
for word in $(grep -o -- '--[a-z-]*' "$tmp/help.txt" | sort -u) $commands; do
    grep -q -- "$word" "$tmp/man.txt" && ok || bad "the man page does not mention $word"
done

unset LD_LIBRARY_PATH PKG_CONFIG_PATH
check "make uninstall" -- make -s uninstall PREFIX="$prefix"
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] && ok || bad "left after uninstall: $left"

# A staged install: everything under DESTDIR, nn.pc still naming the final prefix.
stage=$tmp/stage
check "make install DESTDIR" -- make -s install DESTDIR="$stage" PREFIX=/opt/nn
[ -f "$stage/opt/nn/lib/libnn.so.$version" ] && ok || bad "DESTDIR layout"
grep -qx 'prefix=/opt/nn' "$stage/opt/nn/lib/pkgconfig/nn.pc" && ok || bad "nn.pc prefix"
[ "$(find "$stage" -type f -o -type l | grep -vc "^$stage/opt/nn/")" = 0 ] && ok \
    || bad "files outside DESTDIR/PREFIX"
check "make uninstall DESTDIR" -- make -s uninstall DESTDIR="$stage" PREFIX=/opt/nn
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] && ok || bad "left after uninstall: $left"

echo "install: $pass passed, $fail failed"
[ "$fail" = 0 ]
