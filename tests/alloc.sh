#!/usr/bin/env bash
# No allocation inside the training step: the heap allocation count of a training run under
# valgrind must not grow with the number of steps (twice the images, the same count), at batch 1
# and at batch 8 on two threads; and no memory error or leak on either (the thread pool too).
#   bash tests/alloc.sh bin/nnrun
set -euo pipefail
nnrun=${1:-bin/nnrun}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

allocs() { # images batch threads
    if ! valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=9 "$nnrun" configs/lenet5.yaml train --epochs 1 --limit-train "$1" \
        --limit-test 10 --set train.batch="$2" --set train.optimizer.hessian_samples=8 \
        --threads "$3" --run-dir "$tmp/run" > /dev/null 2> "$tmp/vg"; then
        echo "FAIL batch $2, $3 thread(s): valgrind or nnrun failed:" >&2
        grep -E "ERROR SUMMARY|definitely|indirectly|nnrun:" "$tmp/vg" >&2
        return 1
    fi
    sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$tmp/vg" | tr -d ,
}

for cfg in "1 1" "8 2"; do
    set -- $cfg
    a=$(allocs 32 "$1" "$2") || { fail=1; continue; }
    b=$(allocs 64 "$1" "$2") || { fail=1; continue; }
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
        echo "ok   batch $1, $2 thread(s): $a heap allocations for 32 and for 64 images"
    else
        echo "FAIL batch $1, $2 thread(s): $a heap allocations for 32 images, $b for 64"
        fail=1
    fi
done
exit $fail
