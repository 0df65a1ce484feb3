#!/usr/bin/env bash
# The mean test error (%) per epoch over the seeds of each config, as a markdown table, from
# the compare.csv that `nnrun compare` writes.
# Usage: tools/compare-epochs.sh DIR/compare.csv [EPOCH...]   (default: every epoch)
# Header lines are skipped wherever they are, so several CSVs can be concatenated.
csv=$1
shift
awk -F, -v want="$*" '$3 ~ /^[0-9]+$/ {k=$1; e=$3; s[k","e]+=$5; n[k","e]++; if(!(k in seen)){seen[k]=1; order[++m]=k} if(e>E)E=e}
END {if (want == "") for(e=1;e<=E;e++) col[++C]=e; else C=split(want, col, " ");
 printf "| config |"; for(c=1;c<=C;c++) printf " epoch %d |", col[c]; printf "\n|---|"; for(c=1;c<=C;c++) printf "---:|"; printf "\n";
 for(i=1;i<=m;i++){k=order[i]; printf "| %s |", k; for(c=1;c<=C;c++){e=col[c]; if(n[k","e]) printf " %.2f%% |", 100*s[k","e]/n[k","e]; else printf " |"} printf "\n"}}' "$csv"
