#!/usr/bin/env bash
# The final test error of every run of one config that `nnrun compare` trained, read from the
# runs' own DIR/NAME/seed<k>/metrics.csv (so also when the compare was stopped before writing
# its table): one line per seed, then the mean and sample standard deviation over the seeds
# whose runs finished all EPOCHS, and their training time (the seconds column, summed). With
# --csv, those finished runs in compare.csv's format instead, for tools/compare-epochs.sh.
# Usage: tools/run-errors.sh [--csv] DIR/NAME EPOCHS
csv=0
[ "$1" = --csv ] && csv=1 && shift
dir=$1 epochs=$2 name=$(basename "$1")
[ $csv = 1 ] && echo "config,seed,epoch,train_error,test_error,seconds,images_per_s"
for m in "$dir"/seed*/metrics.csv; do
    [ -e "$m" ] || continue
    seed=$(basename "$(dirname "$m")"); seed=${seed#seed}
    if [ $csv = 1 ]; then
        awk -F, -v E="$epochs" -v c="$name" -v s="$seed" 'NR>1 {r[++n]=c","s","$1","$4","$6","$7","$8}
            END {if (n == E) for (i=1;i<=n;i++) print r[i]}' "$m"
    else
        awk -F, -v s="$seed" 'NR>1 {n=$1; t=$6; sec+=$7} END {printf "%s %d %.6f %.1f\n", s, n+0, t, sec}' "$m"
    fi
done | if [ $csv = 1 ]; then cat; else awk -v E="$epochs" '
    { if ($2 == E) { v[++k]=$3; sec+=$4; printf "seed %s: %.2f%% (%.0f s of training)\n", $1, 100*$3, $4 }
      else if ($2 == 0) printf "seed %s: no epoch finished\n", $1
      else printf "seed %s: stopped after epoch %d (%.2f%%)\n", $1, $2, 100*$3 }
    END { if (!k) exit; for (i=1;i<=k;i++) m+=v[i]; m/=k; for (i=1;i<=k;i++) s+=(v[i]-m)^2
          sd = k > 1 ? 100*sqrt(s/(k-1)) : 0; printf "%d finished: %.2f%% ± %.2f, %.0f s of training a run\n", k, 100*m, sd, sec/k }'; fi
