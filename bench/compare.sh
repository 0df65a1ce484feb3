#!/usr/bin/env bash
# nnrun against PyTorch on the same network, side by side and interleaved: for each thread count
# and batch size, `nnrun bench/lenet5-full.yaml bench`, then bench/torch_lenet5.py (the same
# full-C3 LeNet-5 with a softmax output), then nnrun's own paper LeNet-5 (configs/lenet5.yaml) for
# reference, each under /usr/bin/time -v for its peak resident memory. Prints one markdown table.
#
#   bench/compare.sh                 batches 1 16 64 256, threads 1 2, 5 repeats
#   BATCHES="1 64" THREADS=1 REPEATS=3 bench/compare.sh
#
# Installs Debian's python3-torch when missing (as root; otherwise says what to run).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3            # Debian's python, where python3-torch lives
BATCHES=${BATCHES:-"1 16 64 256"}
THREADS=${THREADS:-"1 2"}
REPEATS=${REPEATS:-5}
NNRUN=bin/nnrun

if ! "$PY" -c 'import torch' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch >&2
    else
        echo "compare.sh: PyTorch is missing: run  sudo apt-get install -y python3-torch" >&2
        exit 2
    fi
fi
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
make -s all data >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME CMD...: runs CMD under /usr/bin/time; leaves $tmp/NAME.out and sets RSS_MB
run() {
    local name=$1
    shift
    /usr/bin/time -v -o "$tmp/$name.time" "$@" > "$tmp/$name.out"
    RSS_MB=$(awk -F: '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$tmp/$name.time")
}
field() { awk -v k="$2" '$1 == k {print $2}' "$tmp/$1.out"; }   # images/s of train or infer
cpu() { awk -v k="$2" '$1 == k {for (i = 1; i < NF; i++) if ($(i + 1) == "images/cpu-s") print $i}' "$tmp/$1.out"; }
peak_of() { awk '$1 == "peak" {print $2}' "$tmp/$1.out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
pct() { awk -v ips="$1" -v flop="$2" -v peak="$3" 'BEGIN {printf "%.0f%%", 100 * ips * flop / 1e9 / peak}'; }

# FLOPs per image from the layer tables: forward 2 x multiply-adds, training 3 forwards' worth
conn=$("$NNRUN" bench/lenet5-full.yaml summary | awk '/^trainable parameters/ {gsub(",", "", $NF); print $NF}')
fwd=$((2 * conn))
trn=$((6 * conn))

model=$(awk -F: '/model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
echo "nnrun vs PyTorch $("$PY" -c 'import torch; print(torch.__version__)'), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) x $model, $(uname -r)"
echo
echo "command: BATCHES=\"$BATCHES\" THREADS=\"$THREADS\" REPEATS=$REPEATS bench/compare.sh; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| threads | batch | train nnrun | train PyTorch | ratio | per CPU-s | infer nnrun | infer PyTorch | ratio | per CPU-s | nnrun % of sgemm peak (train / infer) | paper LeNet-5 nnrun (train / infer) | peak RSS nnrun / PyTorch |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for t in $THREADS; do
    for b in $BATCHES; do
        run nn "$NNRUN" bench/lenet5-full.yaml bench --batch "$b" --threads "$t" --repeats "$REPEATS"
        nn_rss=$RSS_MB
        # torch.set_num_threads does not reach the OpenBLAS that Debian's PyTorch calls, whose
        # own threads would otherwise take the second core in the 1-thread rows
        run pt env OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" MKL_NUM_THREADS="$t" \
            "$PY" bench/torch_lenet5.py --batch "$b" --threads "$t" --repeats "$REPEATS"
        pt_rss=$RSS_MB
        run paper "$NNRUN" configs/lenet5.yaml bench --batch "$b" --threads "$t" --repeats "$REPEATS"
        nt=$(field nn train) ni=$(field nn infer) pt_t=$(field pt train) pt_i=$(field pt infer)
        peak=$(peak_of nn)
        declare "nt_${t}_${b}=$nt" "pt_${t}_${b}=$pt_t" "peak_${t}_${b}=$peak"
        printf "| %s | %s | %s | %s | **%s×** | %s× | %s | %s | **%s×** | %s× | %s / %s (peak %s GFLOP/s) | %s / %s | %s MB / %s MB |\n" \
            "$t" "$b" "$nt" "$pt_t" "$(ratio "$nt" "$pt_t")" "$(ratio "$(cpu nn train)" "$(cpu pt train)")" \
            "$ni" "$pt_i" "$(ratio "$ni" "$pt_i")" "$(ratio "$(cpu nn infer)" "$(cpu pt infer)")" \
            "$(pct "$nt" "$trn" "$peak")" "$(pct "$ni" "$fwd" "$peak")" "$peak" \
            "$(field paper train)" "$(field paper infer)" "$nn_rss" "$pt_rss"
    done
done
echo
echo "images/s, median of $REPEATS repeats after a warm-up; the same network on both sides (bench/lenet5-full.yaml,"
echo "bench/torch_lenet5.py); % of peak counts 2 FLOPs per multiply-add of the layer table ($conn per image), a"
echo "training step as 3 forward passes, against a 512^3 cblas_sgemm on the same number of threads. \"per CPU-s\""
echo "compares images per second of CPU time (all threads of the process): on a shared machine it says what"
echo "the work costs, where the wall-clock ratio also says who got the cores."

# Two threads against one, for each batch: nnrun's training step, PyTorch's, and the large
# sgemm's, which is about what this machine's second core can add to dense math at that moment.
case " $THREADS " in *" 1 "*) ;; *) exit 0 ;; esac
case " $THREADS " in *" 2 "*) ;; *) exit 0 ;; esac
echo
echo "| batch | training, 2 threads / 1: nnrun | PyTorch | sgemm peak |"
echo "|---:|---:|---:|---:|"
for b in $BATCHES; do
    n1="nt_1_$b" n2="nt_2_$b" p1="pt_1_$b" p2="pt_2_$b" k1="peak_1_$b" k2="peak_2_$b"
    printf "| %s | %s× | %s× | %s× |\n" "$b" "$(ratio "${!n2}" "${!n1}")" "$(ratio "${!p2}" "${!p1}")" \
        "$(ratio "${!k2}" "${!k1}")"
done
