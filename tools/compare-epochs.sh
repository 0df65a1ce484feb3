#!/usr/bin/env bash
# The mean test error (%) per epoch over the seeds of each config, as a markdown table, from
# the compare.csv that `nnrun compare` writes. Usage: tools/compare-epochs.sh DIR/compare.csv
awk -F, 'NR>1 {k=$1; e=$3; s[k","e]+=$5; n[k","e]++; if(!(k in seen)){seen[k]=1; order[++m]=k} if(e>E)E=e}
END {printf "| config |"; for(e=1;e<=E;e++) printf " epoch %d |", e; printf "\n|---|"; for(e=1;e<=E;e++) printf "---:|"; printf "\n";
 for(i=1;i<=m;i++){k=order[i]; printf "| %s |", k; for(e=1;e<=E;e++) printf " %.2f%% |", 100*s[k","e]/n[k","e]; printf "\n"}}' "$1"
