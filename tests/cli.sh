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

# The YAML-level fixtures (syntax, aliases, tags, duplicates, ...) through nnrun: exit 2 and the
# message, which for these starts right after the file name.
m=0
for f in tests/fixtures/config/bad_*.yaml; do
    want=$(sed -n '1s/^# expect: //p' "$f")
    expect_exit 2 "$f" -- "$nnrun" "$f" summary
    [ "$errout" = "nnrun: $f$want" ] && ok || bad "$f: got '$errout', expected 'nnrun: $f$want'"
    m=$((m + 1))
done
[ "$m" -ge 9 ] && ok || bad "only $m YAML fixtures"
echo "cli: $n config fixtures and $m YAML fixtures give their message with exit code 2"

# Files that are not configs at all: empty, binary, huge, plain text, a directory.
: > "$tmp/empty.yaml"
expect_exit 2 "empty config" -- "$nnrun" "$tmp/empty.yaml" summary
expect_in "$errout" "$tmp/empty.yaml: empty document, expected a YAML mapping" "empty config message"
expect_exit 2 "binary config" -- "$nnrun" data/mnist/t10k-labels-idx1-ubyte summary
expect_in "$errout" "data/mnist/t10k-labels-idx1-ubyte: not a text file (contains NUL bytes)" "binary config message"
head -c 3000000 /dev/zero | tr '\0' '#' > "$tmp/huge.yaml"
expect_exit 2 "huge config" -- "$nnrun" "$tmp/huge.yaml" summary
expect_in "$errout" "$tmp/huge.yaml: file is 3000000 bytes, a config is at most 1048576" "huge config message"
echo "just some words" > "$tmp/words.yaml"
expect_exit 2 "text config" -- "$nnrun" "$tmp/words.yaml" summary
expect_in "$errout" "$tmp/words.yaml:1:1: expected a mapping with 'input:' and 'layers:'" "text config message"
expect_exit 2 "directory as config" -- "$nnrun" "$tmp" summary
expect_in "$errout" "$tmp: cannot read: Is a directory" "directory config message"

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
expect_exit 2 "--set unknown key" -- "$nnrun" configs/lenet5.yaml summary --set layers.c1.kernal=3
expect_in "$errout" "layer 'c1': unknown key 'kernal' (did you mean 'kernel'?)" "--set unknown key message"
expect_exit 2 "--set out of range" -- "$nnrun" configs/lenet5.yaml summary --set train.batch=0
expect_in "$errout" "train: key 'batch': must be between 1 and" "--set range message"
expect_exit 2 "--set non-finite" -- "$nnrun" configs/lenet5.yaml summary --set train.lr=.nan
expect_in "$errout" "train: key 'lr': expected a finite number, got '.nan'" "--set non-finite message"
expect_exit 2 "--set YAML syntax" -- "$nnrun" configs/lenet5.yaml summary --set 'train.schedule=[[1, 0.1]'
expect_in "$errout" "--set train.schedule=[[1, 0.1]" "--set syntax names the override"
expect_in "$errout" "YAML syntax error" "--set syntax message"
expect_exit 2 "--set shape" -- "$nnrun" configs/lenet5.yaml summary --set layers.c5.kernel=6
expect_in "$errout" "layer 'c5': kernel 6x6 is larger than its input 5x5" "--set shape message"
expect_exit 2 "--set batch too large for memory" -- "$nnrun" configs/lenet5.yaml summary --set train.batch=65536
expect_in "$errout" "for batch 65536 (parameters, activations, gradients, workspace), more than the limit of 4096 MiB" "batch memory message"
expect_exit 2 "--set bytes" -- "$nnrun" configs/lenet5.yaml summary --set "$(printf 'train.\377=1')"
expect_in "$errout" "the path holds control characters or bytes that are not UTF-8" "--set bytes message"
expect_exit 2 "missing config" -- "$nnrun" configs/nope.yaml summary
expect_in "$errout" "configs/nope.yaml" "missing config names the file"

# Missing data: the file is named and `make data` suggested.
expect_exit 2 "missing data" -- "$nnrun" configs/lenet5.yaml train --run-dir "$tmp/r0" --set data.train.images=data/none-idx3-ubyte
expect_in "$errout" "data/none-idx3-ubyte: no such file (run \`make data\`)" "missing data message"
expect_in "$errout" "data: train: images: " "missing data names the key"
# Started in another directory: the message gives the config's line for the key and the
# directory a relative path was taken from.
abs_nnrun=$(cd "$(dirname "$nnrun")" && pwd)/$(basename "$nnrun")
expect_exit 2 "data missing from another directory" -- env -C "$tmp" "$abs_nnrun" "$PWD/configs/lenet5.yaml" train --epochs 1 --run-dir "$tmp/rcwd"
line=$(grep -n 'train: {images: data/mnist/train-images-idx3-ubyte' configs/lenet5.yaml | cut -d: -f1)
expect_in "$errout" "$PWD/configs/lenet5.yaml:$line:" "missing data: config line"
expect_in "$errout" ": data: train: images: data/mnist/train-images-idx3-ubyte: no such file" "missing data: key and file"
expect_in "$errout" "a relative path is taken from the current directory, $tmp" "missing data: the directory"

# Bad data files through nnrun: exit 2, the file named, what was expected.
bad_data() { # DESCRIPTION NEEDLE -- --set ARGS...
    local what=$1 needle=$2; shift 3
    expect_exit 2 "$what" -- "$nnrun" configs/lenet5.yaml train --run-dir "$tmp/rd" "$@"
    expect_in "$errout" "$needle" "$what message"
}
head -c 10000 data/mnist/t10k-images-idx3-ubyte > "$tmp/trunc-idx3"
bad_data "truncated images" "data: train: images: $tmp/trunc-idx3: truncated: header says 10000 images of 28x28" -- \
    --set data.train.images="$tmp/trunc-idx3"
bad_data "labels as images" "t10k-labels-idx1-ubyte: not an IDX image file (magic 0x00000801, expected 0x00000803); it looks like a label file" -- \
    --set data.train.images=data/mnist/t10k-labels-idx1-ubyte
bad_data "count mismatch" "has 60000 images but data/mnist/t10k-labels-idx1-ubyte has 10000 labels" -- \
    --set data.train.labels=data/mnist/t10k-labels-idx1-ubyte
bad_data "label outside the classes" "data/mnist/train-labels-idx1-ubyte: label 5 at index 0 is outside 0..4" -- \
    --set data.classes=5 --set layers.output.units=5
{ printf '\037\213\010\000\000\000\000\000\000\003'; head -c 64 /dev/zero; } > "$tmp/corrupt.gz"
bad_data "corrupt gzip" "$tmp/corrupt.gz: corrupt gzip data" -- --set data.train.images="$tmp/corrupt.gz"
bad_data "unreadable data" "$tmp: is a directory, expected a file" -- --set data.train.images="$tmp"

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
expect_exit 0 "predict another size" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/small.pgm"
expect_in "$out" "small.pgm: " "another size is scaled"
echo "not an image" > "$tmp/text.pgm"
expect_exit 2 "predict not an image" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/text.pgm"
expect_in "$errout" "$tmp/text.pgm: not a PNG or PGM image" "not an image message"
printf 'P6\n28 28\n255\n' > "$tmp/color.ppm"
expect_exit 2 "predict a PPM" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/color.ppm"
expect_in "$errout" "$tmp/color.ppm: a PPM (P6) file, expected a PGM (P5 or P2)" "PPM message"
head -c 300 "$tmp/seven.pgm" > "$tmp/cut.pgm"
expect_exit 2 "predict truncated" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/cut.pgm"
expect_in "$errout" "$tmp/cut.pgm: truncated: header says 28x28 (784 bytes of pixels), file has 287" "truncated image message"
expect_exit 2 "predict missing" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp/none.pgm"
expect_in "$errout" "$tmp/none.pgm: no such file" "missing image message"
expect_exit 2 "predict a directory" -- "$nnrun" configs/lenet5.yaml predict --weights "$tmp/r1/last.ckpt" "$tmp"
expect_in "$errout" "$tmp: is a directory, expected a file" "unreadable image message"

# Printed characters: the generator's errors, a small set, a short run, test and predict.
printed=${nnrun%nnrun}nnrun-printed
F=/usr/share/fonts/truetype
printf 'train /nowhere/Gone.ttf\ntest %s/freefont/FreeSerif.ttf\n' "$F" > "$tmp/fonts-bad.txt"
expect_exit 2 "printed: missing font" -- "$printed" generate --fonts "$tmp/fonts-bad.txt" --out "$tmp/pr0"
expect_in "$errout" "fonts-bad.txt:1: /nowhere/Gone.ttf: no such font file" "missing font message"
printf 'train %s/dejavu/DejaVuSans.ttf\ntset %s/freefont/FreeSerif.ttf\n' "$F" "$F" > "$tmp/fonts-typo.txt"
expect_exit 2 "printed: bad list line" -- "$printed" generate --fonts "$tmp/fonts-typo.txt" --out "$tmp/pr0"
expect_in "$errout" "fonts-typo.txt:2:1: expected 'train PATH' or 'test PATH', got 'tset'" "list line message"
expect_exit 2 "printed: missing list" -- "$printed" generate --fonts "$tmp/none.txt"
expect_in "$errout" "none.txt: no such file" "missing list message"
printf 'train %s/dejavu/DejaVuSans.ttf\ntrain %s/liberation2/LiberationSerif-Regular.ttf\ntest %s/freefont/FreeSans.ttf\n' "$F" "$F" "$F" > "$tmp/fonts.txt"
expect_exit 0 "printed: generate" -- "$printed" generate --fonts "$tmp/fonts.txt" --out "$tmp/pr" --train-per-char 2 --test-per-char 1
expect_in "$out" "380 training images from 2 fonts, 95 test images from 1 other fonts" "generate counts"
expect_exit 0 "printed: sheet" -- "$printed" sheet "$tmp/sheet.png" --from "$tmp/pr" --cols 8 --rows 2
[ "$(head -c 4 "$tmp/sheet.png" | tail -c 3)" = PNG ] && ok || bad "sheet is not a PNG"
ps="--set data.train.images=$tmp/pr/train-images-idx3-ubyte --set data.train.labels=$tmp/pr/train-labels-idx1-ubyte --set data.test.images=$tmp/pr/test-images-idx3-ubyte --set data.test.labels=$tmp/pr/test-labels-idx1-ubyte"
expect_exit 0 "printed: train" -- "$nnrun" configs/lenet5-printed.yaml train $ps --epochs 1 --run-dir "$tmp/rp"
expect_exit 0 "printed: test" -- "$nnrun" configs/lenet5-printed.yaml test $ps --weights "$tmp/rp/last.ckpt"
expect_in "$out" "of 95 images misclassified" "printed test output"
expect_in "$out" "confused pairs (true -> predicted" "confused pairs listed"
expect_exit 0 "printed: render" -- "$printed" render "$F/freefont/FreeSans.ttf" A "$tmp/A.png" --size 96 --plain --invert
expect_exit 0 "printed: predict a PNG" -- "$nnrun" configs/lenet5-printed.yaml predict $ps --weights "$tmp/rp/last.ckpt" --invert "$tmp/A.png"
expect_in "$out" "A.png: " "predict names the file"
expect_in "$out" "  top: '" "predict shows characters"
expect_exit 2 "printed: predict a missing PNG" -- "$nnrun" configs/lenet5-printed.yaml predict --weights "$tmp/rp/last.ckpt" "$tmp/none.png"
expect_in "$errout" "none.png: no such file" "missing image message"

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
# not a fixed delay (a fast build finishes the run in one): the run directory's config.yaml is
# written just before training starts; the signal then lands in the first epoch
for _ in $(seq 600); do [ -s "$tmp/r2/config.yaml" ] && break; sleep 0.05; done
sleep 0.3
kill -INT $pid
wait $pid; rc=$?
[ $rc = 130 ] && ok || bad "SIGINT: exit $rc, expected 130; $(cat "$tmp/sig.err")"
expect_in "$(cat "$tmp/sig.err")" "continue with --resume" "SIGINT message"
[ -s "$tmp/r2/last.ckpt" ] && ok || bad "SIGINT left no checkpoint"
expect_exit 0 "resume" -- "$nnrun" configs/lenet5.yaml train --epochs 2 --limit-train 6000 --limit-test 100 --run-dir "$tmp/r2" --resume
expect_in "$out" "resuming after epoch" "resume message"
expect_in "$out" "epoch 2/2" "resumed run finishes"

# SIGTERM once the first checkpoint exists (polled, so no timing decides the outcome): the step
# finishes, last.ckpt is written, exit 130, and the checkpoint loads.
"$nnrun" configs/lenet5.yaml train --epochs 1000 --limit-train 100 --limit-test 20 --run-dir "$tmp/rt" >/dev/null 2>"$tmp/term.err" &
pid=$!
for _ in $(seq 600); do [ -s "$tmp/rt/last.ckpt" ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid; rc=$?
[ $rc = 130 ] && ok || bad "SIGTERM: exit $rc, expected 130; $(cat "$tmp/term.err")"
expect_in "$(cat "$tmp/term.err")" "continue with --resume" "SIGTERM message"
expect_exit 0 "checkpoint after SIGTERM loads" -- "$nnrun" configs/lenet5.yaml test --weights "$tmp/rt/last.ckpt" --limit-test 20

# Each epoch's test pass runs on a second thread beside the next epoch (the default with one
# training thread on a machine of 2 or more CPUs) or, with --test-inline, before it: the same
# metrics, reports in order, the same checkpoints.
ti_args=(configs/lenet5.yaml train --epochs 3 --limit-train 1500 --limit-test 500)
expect_exit 0 "train --test-inline" -- "$nnrun" "${ti_args[@]}" --run-dir "$tmp/ti-inline" --test-inline
expect_exit 0 "train, test pass beside" -- "$nnrun" "${ti_args[@]}" --run-dir "$tmp/ti-beside"
[ "$(grep -o '^epoch [0-9]*/3' "$tmp/out" | tr '\n' ' ')" = "epoch 1/3 epoch 2/3 epoch 3/3 " ] && ok ||
    bad "epoch reports out of order: $out"
expect_in "$out" "final test error" "final test error after the passes beside"
[ "$(cut -d, -f1-6 "$tmp/ti-inline/metrics.csv")" = "$(cut -d, -f1-6 "$tmp/ti-beside/metrics.csv")" ] && ok ||
    bad "metrics differ with --test-inline: $(diff "$tmp/ti-inline/metrics.csv" "$tmp/ti-beside/metrics.csv")"
[ "$(wc -l < "$tmp/ti-beside/metrics.csv")" = 4 ] && ok || bad "metrics.csv: not 3 rows"
for f in last.ckpt best.ckpt; do
    cmp -s "$tmp/ti-inline/$f" "$tmp/ti-beside/$f" && ok || bad "$f differs with --test-inline"
done

# Kill and resume: a run SIGKILLed at pseudo-random moments (seeded, so the moments repeat;
# whether a kill lands in a step, a checkpoint write or after the end does not change the
# outcome), resumed after every kill, must leave after each kill either no checkpoint or one that
# loads, and must end with the same checkpoint, byte for byte, as a run never interrupted.
kr_args=(configs/lenet5.yaml train --epochs 8 --limit-train 1500 --limit-test 50)
expect_exit 0 "uninterrupted run" -- "$nnrun" "${kr_args[@]}" --run-dir "$tmp/kr-ref"
RANDOM=1998
kills=0 loads=0
for k in 1 2 3 4 5 6 7 8; do
    resume=(); [ -s "$tmp/kr/last.ckpt" ] && resume=(--resume)
    "$nnrun" "${kr_args[@]}" --run-dir "$tmp/kr" "${resume[@]}" >/dev/null 2>"$tmp/kr.err" &
    pid=$!
    sleep "$((RANDOM % 2)).$((RANDOM % 10))"
    kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
    if [ -e "$tmp/kr/last.ckpt" ]; then
        expect_exit 0 "checkpoint after kill $k loads" -- "$nnrun" configs/lenet5.yaml test --weights "$tmp/kr/last.ckpt" --limit-test 10
        loads=$((loads + 1))
    fi
done
resume=(); [ -s "$tmp/kr/last.ckpt" ] && resume=(--resume)
expect_exit 0 "run resumed after the kills" -- "$nnrun" "${kr_args[@]}" --run-dir "$tmp/kr" "${resume[@]}"
expect_in "$out" "final test error" "resumed run finishes"
cmp -s "$tmp/kr-ref/last.ckpt" "$tmp/kr/last.ckpt" && ok || bad "killed and resumed run differs from the uninterrupted one"
stale=$(cd "$tmp/kr" && ls | grep '\.tmp\.' || true)
[ -z "$stale" ] && ok || bad "temporary files left after the resumed run: $stale"
# A run directory with what a write killed midway leaves: those go when training starts there,
# files that only look alike stay.
mkdir -p "$tmp/stale"
touch "$tmp/stale/last.ckpt.tmp.Ab12cD" "$tmp/stale/best.ckpt.tmp.x9YzQ1" \
      "$tmp/stale/metrics.csv.tmp.000aaa" "$tmp/stale/notes.tmp.Ab12cD" \
      "$tmp/stale/last.ckpt.tmp.toolong7"
expect_exit 0 "train in a directory with stale temporary files" -- "$nnrun" configs/lenet5.yaml train --epochs 1 --limit-train 20 --limit-test 10 --set train.optimizer.hessian_samples=10 --run-dir "$tmp/stale"
left=$(cd "$tmp/stale" && ls | grep '\.tmp\.' | tr '\n' ' ')
[ "$left" = "last.ckpt.tmp.toolong7 notes.tmp.Ab12cD " ] && ok || bad "after training, temporary files: '$left'"
echo "cli: kill and resume: 8 runs, $kills ended by SIGKILL, a checkpoint left after $loads, all load; final checkpoint identical to the uninterrupted run"

# NaN/Inf: a run that diverges stops with exit 3, names the epoch, step and layer, and leaves the
# last good checkpoint as it was.
cat > "$tmp/diverge.yaml" <<EOF
name: diverge
input: [1, 28, 28]
layers:
  - {name: h, type: dense, units: 32}
  - {name: out, type: dense, units: 10, activation: softmax}
data:
  train: {images: data/mnist/train-images-idx3-ubyte, labels: data/mnist/train-labels-idx1-ubyte}
  test: {images: data/mnist/t10k-images-idx3-ubyte, labels: data/mnist/t10k-labels-idx1-ubyte}
train: {loss: cross_entropy, optimizer: sgd, lr: 0.001}
EOF
expect_exit 0 "one good epoch" -- "$nnrun" "$tmp/diverge.yaml" train --epochs 1 --limit-train 200 --limit-test 10 --run-dir "$tmp/dv"
cp "$tmp/dv/last.ckpt" "$tmp/good.ckpt"
expect_exit 3 "diverging run" -- "$nnrun" "$tmp/diverge.yaml" train --epochs 3 --limit-train 200 --limit-test 10 --run-dir "$tmp/dv" --resume --set train.lr=100
expect_in "$errout" "epoch 2, step " "divergence names the epoch and step"
expect_in "$errout" "layer '" "divergence names the layer"
expect_in "$errout" "the last checkpoint is kept" "divergence keeps the checkpoint"
cmp -s "$tmp/good.ckpt" "$tmp/dv/last.ckpt" && ok || bad "a diverged run replaced the last good checkpoint"
expect_exit 0 "the kept checkpoint loads" -- "$nnrun" "$tmp/diverge.yaml" test --weights "$tmp/dv/last.ckpt" --limit-test 10

# bench: both throughputs and the sgemm peak; bad values refused before any work.
expect_exit 0 "bench" -- "$nnrun" configs/lenet5.yaml bench --batch 4 --threads 2 --repeats 1
expect_in "$out" "batch 4, 2 threads" "bench settings"
expect_in "$out" "images/cpu-s" "bench figures"
case "$out" in *"train "*"infer "*"peak "*) ok ;; *) bad "bench lines: $out" ;; esac
# Fixed RBF prototypes are in no checkpoint: random ones come out the same under any --seed
# (test reproduces the trained net's error), and a checkpoint trained against a prototype file
# that has changed since is refused.
proto_net() { # PROTOTYPES
    cat <<EOF
name: proto
input: [1, 32, 32]
layers:
  - {name: c1, type: conv, maps: 4, kernel: 5, activation: lecun_tanh}
  - {name: s2, type: avgpool, size: 4}
  - {name: f6, type: dense, units: 84, activation: lecun_tanh}
  - {name: output, type: rbf, units: 10, prototypes: $1}
data:
  train: {images: data/mnist/train-images-idx3-ubyte, labels: data/mnist/train-labels-idx1-ubyte}
  test:  {images: data/mnist/t10k-images-idx3-ubyte,  labels: data/mnist/t10k-labels-idx1-ubyte}
  pad: 2
  range: [-0.1, 1.175]
train: {epochs: 1, batch: 8, loss: rbf_map, optimizer: {type: sgd, momentum: 0.9}, lr: 0.01}
EOF
}
proto_net random > "$tmp/proto_random.yaml"
expect_exit 0 "train with random prototypes and --seed" -- "$nnrun" "$tmp/proto_random.yaml" train --seed 5 --limit-train 600 --limit-test 200 --run-dir "$tmp/proto_random"
trained=$(printf '%s\n' "$out" | sed -n 's/^final test error: \([0-9.]*%\).*/\1/p')
expect_exit 0 "test the random-prototype net" -- "$nnrun" "$tmp/proto_random.yaml" test --weights "$tmp/proto_random/last.ckpt" --limit-test 200
tested=$(printf '%s\n' "$out" | sed -n 's/^test error: \([0-9.]*%\).*/\1/p')
[ -n "$trained" ] && [ "$trained" = "$tested" ] && ok || bad "random prototypes: trained $trained, tested $tested"
awk '/^char .[0-9].$/ {on = 13} on > 0 {print; on--}' layers/glyphs_ascii.txt > "$tmp/digits.txt"
proto_net "{file: $tmp/digits.txt}" > "$tmp/proto_file.yaml"
expect_exit 0 "train with file prototypes" -- "$nnrun" "$tmp/proto_file.yaml" train --limit-train 200 --limit-test 50 --run-dir "$tmp/proto_file"
expect_exit 0 "test with the same prototype file" -- "$nnrun" "$tmp/proto_file.yaml" test --weights "$tmp/proto_file/last.ckpt" --limit-test 50
sed -i '3s/^\./#/' "$tmp/digits.txt"
expect_exit 2 "test after the prototype file changed" -- "$nnrun" "$tmp/proto_file.yaml" test --weights "$tmp/proto_file/last.ckpt" --limit-test 50
expect_in "$errout" "checkpoint belongs to another graph" "changed prototypes refused"

# bench --profile: one row per layer, in order, with the rest of the step, and shares that add
# up to the whole step (within rounding)
expect_exit 0 "bench --profile" -- "$nnrun" configs/lenet5.yaml bench --batch 2 --repeats 1 --profile
rows=$(printf '%s\n' "$out" | awk '/^profile/ {on = 1; next} on && NF >= 7 && $1 != "layer" && $1 != "rest" {printf "%s:%s ", $1, $2}')
[ "$rows" = "c1:conv s2:subsample c3:sparse_conv s4:subsample c5:conv f6:dense output:rbf " ] && ok || bad "profile rows: $rows"
share=$(printf '%s\n' "$out" | awk '/^profile/ {on = 1; next} on && $1 != "layer" {for (i = 1; i <= NF; i++) if ($i ~ /%$/) {sub("%", "", $i); s += $i}} END {printf "%.0f", s}')
[ "$share" -ge 99 ] && [ "$share" -le 101 ] && ok || bad "profile shares add up to $share%"
expect_exit 2 "bench --threads 0" -- "$nnrun" configs/lenet5.yaml bench --threads 0
expect_exit 2 "bench --repeats 100" -- "$nnrun" configs/lenet5.yaml bench --repeats 100

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
# The same compare again reuses every finished run (nothing trained: the runs' files keep their
# inodes) and prints the same table; a run stopped part-way is resumed to the same end; a changed
# setting or --retrain trains again.
cmp_args=(compare configs/lenet5.yaml 'configs/lenet5.yaml@name=lenet5-b4@train.batch=4' configs/mlp.yaml --epochs 2 --seeds 2 --limit-train 200 --limit-test 100 --out "$tmp/cmp")
table1=$(printf '%s\n' "$out" | grep '^| ')
inodes() { stat -c %i "$tmp"/cmp/*/seed*/metrics.csv "$tmp"/cmp/*/seed*/last.ckpt | tr '\n' ' '; }
before=$(inodes)
expect_exit 0 "compare again" -- "$nnrun" "${cmp_args[@]}"
[ "$(grep -c 'finished before, reused' "$tmp/err")" = 6 ] && ok || bad "compare again: not all 6 runs reused: $errout"
[ "$(printf '%s\n' "$out" | grep '^| ')" = "$table1" ] && ok || bad "compare again: another table: $out"
[ "$(inodes)" = "$before" ] && ok || bad "compare again rewrote run files"
# seed 1 of lenet5 as if stopped after its first epoch: that epoch's checkpoint and metrics row
"$nnrun" configs/lenet5.yaml train --epochs 1 --seed 1 --limit-train 200 --limit-test 100 --run-dir "$tmp/cmp/lenet5/seed1" >/dev/null 2>&1
expect_exit 0 "compare resumes a stopped run" -- "$nnrun" "${cmp_args[@]}"
expect_in "$errout" "lenet5, seed 1 ($tmp/cmp/lenet5/seed1): resumed after epoch 1" "resumed run named"
[ "$(grep -c 'finished before, reused' "$tmp/err")" = 5 ] && ok || bad "compare resume: the other 5 runs not reused: $errout"
[ "$(printf '%s\n' "$out" | grep '^| lenet5 |' | cut -d'|' -f2-6)" = "$(printf '%s\n' "$table1" | grep '^| lenet5 |' | cut -d'|' -f2-6)" ] && ok ||
    bad "resumed compare: another lenet5 row: $out"
expect_exit 0 "compare, one more epoch" -- "$nnrun" compare configs/mlp.yaml --epochs 3 --seeds 1 --limit-train 200 --limit-test 100 --out "$tmp/cmp"
case "$errout" in *reused*|*resumed*) bad "compare with other epochs reused a run: $errout" ;; *) ok ;; esac
[ "$(wc -l < "$tmp/cmp/mlp/seed1/metrics.csv")" = 4 ] && ok || bad "compare --epochs 3: not 3 rows"
expect_exit 0 "compare --retrain" -- "$nnrun" compare configs/mlp.yaml --epochs 3 --seeds 1 --limit-train 200 --limit-test 100 --out "$tmp/cmp" --retrain
case "$errout" in *reused*|*resumed*) bad "compare --retrain reused a run: $errout" ;; *) ok ;; esac
# a data file that changed (here its modification time) makes another run: trained again
cp data/mnist/t10k-labels-idx1-ubyte "$tmp/test-labels"
data_args=(compare "configs/mlp.yaml@name=mlp-copy@data.test.labels=$tmp/test-labels" --epochs 1 --seeds 1 --limit-train 200 --limit-test 100 --out "$tmp/cmp")
expect_exit 0 "compare with a copied data file" -- "$nnrun" "${data_args[@]}"
expect_in "$(cat "$tmp/cmp/mlp-copy/seed1/compare.key")" "# $tmp/test-labels: 10008 bytes, modified " "compare.key names the data file"
expect_exit 0 "compare again, the data file untouched" -- "$nnrun" "${data_args[@]}"
expect_in "$errout" "finished before, reused" "same data file: reused"
touch -d '2001-01-01 00:00' "$tmp/test-labels"
expect_exit 0 "compare after the data file changed" -- "$nnrun" "${data_args[@]}"
case "$errout" in *reused*|*resumed*) bad "compare reused a run whose data file changed: $errout" ;; *) ok ;; esac
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
