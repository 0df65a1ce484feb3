#!/usr/bin/env bash
# End-to-end checks of the nnrun command: exit codes, messages, the run directory, checkpoints,
# SIGINT and resume, predict, and a training run under valgrind memcheck.
# Usage: tests/cli.sh [path/to/nnrun]   (run from the repository root)
set -u
nnrun=${1:-bin/nnrun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_exit CODE DESCRIPTION -- COMMAND...: runs COMMAND, keeps stdout/stderr in $out/$errout
expect_exit() {
    local want=$1 what=$2; shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    out=$(cat "$tmp/out"); errout=$(cat "$tmp/err")
    if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, expected $want; stderr: $errout"; fi
}
expect_in() { # TEXT NEEDLE DESCRIPTION
    case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not in: $1" ;; esac
}

expect_exit 0 "help" -- "$nnrun" --help
expect_in "$out" "usage: nnrun CONFIG COMMAND" "help text"

expect_exit 0 "summary" -- "$nnrun" configs/lenet5.yaml summary
expect_in "$out" "trainable parameters: 60,000; connections (multiply-adds per image): 340,908" "lenet5 summary"
expect_in "$out" "0 (840 fixed)" "rbf fixed prototypes"
expect_exit 0 "summary softmax" -- "$nnrun" configs/lenet5-softmax.yaml summary
expect_in "$out" "trainable parameters: 60,850" "softmax summary"

# Every bad-config fixture: exit 2 and exactly its message.
n=0
for f in tests/fixtures/graph/*.yaml; do
    want=$(sed -n 's/^# expect: //p' "$f")
    expect_exit 2 "$f" -- "$nnrun" "$f" summary
    [ "$errout" = "nnrun: $want" ] && ok || bad "$f: got '$errout', expected 'nnrun: $want'"
    n=$((n + 1))
done
[ "$n" -ge 30 ] && ok || bad "only $n fixtures"

expect_exit 2 "unknown command" -- "$nnrun" configs/lenet5.yaml trian
expect_in "$errout" "unknown command 'trian'" "unknown command message"
expect_exit 2 "unknown option" -- "$nnrun" configs/lenet5.yaml train --epoch 3
expect_exit 2 "bad --epochs" -- "$nnrun" configs/lenet5.yaml train --epochs 3x
expect_in "$errout" "--epochs: expected an integer between 1 and 100000, got '3x'" "--epochs message"
expect_exit 2 "bad --set value" -- "$nnrun" configs/lenet5.yaml summary --set layers.c1.maps=zero
expect_in "$errout" "layer 'c1': key 'maps': expected an integer, got 'zero'" "--set checked like the file"
expect_exit 2 "bad --set path" -- "$nnrun" configs/lenet5.yaml summary --set layers.c9.maps=3
expect_in "$errout" "--set layers.c9.maps=3" "--set path message"
expect_exit 0 "--set changes the graph" -- "$nnrun" configs/lenet5.yaml summary --set layers.c1.maps=8 --set 'layers.c3.table=[[0],[1],[2],[3],[4],[5],[6],[7],[0],[1],[2],[3],[4],[5],[6],[7]]'
expect_in "$out" "c1         conv         1x32x32    5x5          8x28x28" "--set maps"
expect_exit 2 "missing config" -- "$nnrun" configs/nope.yaml summary
expect_in "$errout" "configs/nope.yaml" "missing config names the file"

# Missing data: the file is named and `make data` suggested.
expect_exit 2 "missing data" -- "$nnrun" configs/lenet5.yaml train --run-dir "$tmp/r0" --set data.train.images=data/none-idx3-ubyte
expect_in "$errout" "data/none-idx3-ubyte: no such file (run \`make data\`)" "missing data message"

# A short training run writes its run directory.
expect_exit 0 "short train" -- "$nnrun" configs/lenet5.yaml train --epochs 2 --limit-train 600 --limit-test 200 --run-dir "$tmp/r1"
expect_in "$out" "epoch 2/2" "epoch lines"
for f in config.yaml metrics.csv last.ckpt best.ckpt; do [ -s "$tmp/r1/$f" ] && ok || bad "run dir lacks $f"; done
[ "$(wc -l < "$tmp/r1/metrics.csv")" = 3 ] && ok || bad "metrics.csv should have a header and 2 rows"
expect_exit 0 "resolved config reloads" -- "$nnrun" "$tmp/r1/config.yaml" summary

expect_exit 0 "test" -- "$nnrun" configs/lenet5.yaml test --weights "$tmp/r1/last.ckpt" --limit-test 300
expect_in "$out" "of 300 images misclassified" "test output"
expect_in "$out" "confusion (rows: true class" "confusion matrix"

# predict: the first test image (a 7) as a PGM, and an image of the wrong size.
printf 'P5\n28 28\n255\n' > "$tmp/seven.pgm"
tail -c +17 data/mnist/t10k-images-idx3-ubyte | head -c 784 >> "$tmp/seven.pgm"
expect_exit 0 "predict" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/seven.pgm"
expect_in "$out" "seven.pgm: " "predict output"
expect_in "$out" "top: " "predict ranks classes"
printf 'P5\n10 10\n255\n' > "$tmp/small.pgm"; head -c 100 /dev/zero >> "$tmp/small.pgm"
expect_exit 2 "predict wrong size" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/small.pgm"
expect_in "$errout" "image is 10x10, expected 28x28 (or 32x32)" "wrong size message"
echo "not an image" > "$tmp/text.pgm"
expect_exit 2 "predict not a PGM" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/text.pgm"

# Corrupt and foreign checkpoints are refused with the reason.
cp "$tmp/r1/last.ckpt" "$tmp/corrupt.ckpt"
printf '\x55' | dd of="$tmp/corrupt.ckpt" bs=1 seek=2000 conv=notrunc 2>/dev/null
expect_exit 2 "corrupt checkpoint" -- "$nnrun" configs/lenet5.yaml test --weights "$tmp/corrupt.ckpt"
expect_in "$errout" "corrupt checkpoint (checksum mismatch)" "checksum message"
head -c 5000 "$tmp/r1/last.ckpt" > "$tmp/short.ckpt"
expect_exit 2 "truncated checkpoint" -- "$nnrun" configs/lenet5.yaml test --weights "$tmp/short.ckpt"
expect_in "$errout" "truncated checkpoint" "truncation message"
expect_exit 2 "foreign checkpoint" -- "$nnrun" configs/lenet5-softmax.yaml test --weights "$tmp/r1/last.ckpt"
expect_in "$errout" "belongs to another graph" "fingerprint message"

# SIGINT: the step finishes, a checkpoint is written, exit 130; --resume finishes the run.
"$nnrun" configs/lenet5.yaml train --epochs 2 --limit-train 6000 --limit-test 100 --run-dir "$tmp/r2" >"$tmp/sig.out" 2>"$tmp/sig.err" &
pid=$!
sleep 3
kill -INT $pid
wait $pid; rc=$?
[ $rc = 130 ] && ok || bad "SIGINT: exit $rc, expected 130; $(cat "$tmp/sig.err")"
expect_in "$(cat "$tmp/sig.err")" "continue with --resume" "SIGINT message"
[ -s "$tmp/r2/last.ckpt" ] && ok || bad "SIGINT left no checkpoint"
expect_exit 0 "resume" -- "$nnrun" configs/lenet5.yaml train --epochs 2 --limit-train 6000 --limit-test 100 --run-dir "$tmp/r2" --resume
expect_in "$out" "resuming after epoch" "resume message"
expect_in "$out" "epoch 2/2" "resumed run finishes"

# compare: a table row per config, the files it writes, a real PNG chart; variants need names.
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }
expect_exit 0 "compare" -- "$nnrun" compare configs/lenet5.yaml 'configs/lenet5.yaml@name=lenet5-b4@train.batch=4' configs/mlp.yaml --epochs 2 --seeds 2 --limit-train 200 --limit-test 100 --out "$tmp/cmp"
expect_in "$out" "| config | parameters | connections | test error (2 seeds) | best epoch | train time | images/s |" "compare header"
expect_in "$out" "| lenet5 | 60,000 | 340,908 | " "compare lenet5 row"
expect_in "$out" "| lenet5-b4 | 60,000 | 340,908 | " "compare variant row"
expect_in "$out" "| mlp | 266,610 | 266,610 | " "compare mlp row"
[ "$(grep -c '^mlp,' "$tmp/cmp/compare.csv")" = 4 ] && ok || bad "compare.csv: expected 2 seeds x 2 epochs of mlp"
expect_in "$(cat "$tmp/cmp/compare.md")" "| lenet5-b4 |" "compare.md has the table"
is_png "$tmp/cmp/test_error.png" && ok || bad "compare chart is not a PNG"
[ -s "$tmp/cmp/mlp/seed2/last.ckpt" ] && ok || bad "compare keeps each run's checkpoint"
expect_exit 2 "compare: unnamed variant" -- "$nnrun" compare configs/lenet5.yaml 'configs/lenet5.yaml@train.batch=4' --out "$tmp/cmp2"
expect_in "$errout" "a variant needs its own @name=..." "unnamed variant message"
expect_exit 2 "compare: bad config before any training" -- "$nnrun" compare configs/lenet5.yaml tests/fixtures/graph/cycle.yaml --out "$tmp/cmp3"
[ ! -e "$tmp/cmp3/lenet5" ] && ok || bad "compare trained before checking every config"
expect_exit 2 "compare: nothing to compare" -- "$nnrun" compare --epochs 1

# show: feature maps, kernels, prototypes as PNGs; test: confused pairs and the misclassified sheet.
w="$tmp/cmp/lenet5/seed1/last.ckpt"
expect_exit 0 "show" -- "$nnrun" configs/lenet5.yaml show --weights "$w" test:3 --out "$tmp/show"
for f in feature_maps kernels prototypes; do
    is_png "$tmp/show/$f.png" && ok || bad "show: $f.png is not a PNG"
done
expect_exit 2 "show: bad image" -- "$nnrun" configs/lenet5.yaml show --weights "$w" test:x --out "$tmp/show"
expect_in "$errout" "expected test:N" "show bad image message"
expect_exit 0 "test --out" -- "$nnrun" configs/lenet5.yaml test --weights "$w" --limit-test 300 --out "$tmp/show"
expect_in "$out" "most confused (true -> predicted): " "confused pairs"
expect_in "$out" "misclassified images: $tmp/show/misclassified.png" "misclassified sheet"
is_png "$tmp/show/misclassified.png" && ok || bad "misclassified sheet is not a PNG"

# valgrind: a short training run with no memory errors and no leaks.
if command -v valgrind >/dev/null; then
    expect_exit 0 "valgrind train" -- valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
        "$nnrun" configs/lenet5.yaml train --epochs 1 --limit-train 100 --limit-test 50 --run-dir "$tmp/r3"
    [ -z "$errout" ] && ok || bad "valgrind reported: $errout"
    expect_exit 0 "valgrind show" -- valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$nnrun" configs/lenet5.yaml show --weights "$w" test:0 --out "$tmp/vshow"
    [ -z "$errout" ] && ok || bad "valgrind reported: $errout"
else
    bad "valgrind is not installed"
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
