#!/usr/bin/env bash
# Overhead of `sibyl plan --executor ray` against `--executor local` on one machine (issue: the planner on a
# real cluster). A small real search, ResNet-8 on CIFAR-100, 2 members, 2 rounds, run both ways with the same
# seed, one after the other on an otherwise idle machine; a local Ray head is started for the Ray run
# (Tests/ray/cluster.sh) and stopped afterwards. Prints wall times, their ratio, and whether the two searches
# made the same decisions (search.jsonl byte for byte).
# Usage: Experiments/ray-executor/run.sh BASELINE.h5 [WORKDIR]   (BASELINE: a ResNet-8 CIFAR-100 checkpoint)
set -euo pipefail
cd "$(dirname "$0")/../.."
baseline=${1:?a ResNet-8 CIFAR-100 checkpoint (sibyl train --model resnet8 --dataset cifar100 ...)}
work=${2:-runs/ray-executor}
unset OPENBLAS_CORETYPE
sibyl=.build/release/sibyl
rm -rf "$work/local" "$work/ray"
mkdir -p "$work"
state=$work/ray-cluster.env
bash Tests/ray/cluster.sh start "$state"
trap 'bash Tests/ray/cluster.sh stop "$state"' EXIT
# shellcheck disable=SC1090
source "$state"
[ -z "${SIBYL_RAY_ERROR:-}" ] || { echo "no Ray cluster: $SIBYL_RAY_ERROR" >&2; exit 1; }
search=(plan --baseline "$baseline" --dataset cifar100 --population 2 --rounds 2 --budget-epochs 2
        --max-relus 0 --pinned none --degrees 2 --seed 1 --threads 2)
seconds() { local start=$SECONDS; "$@" > "$log" 2>&1; echo $(( SECONDS - start )); }
log=$work/local.log; t_local=$(seconds $sibyl "${search[@]}" --out "$work/local")
log=$work/ray.log; t_ray=$(seconds $sibyl "${search[@]}" --out "$work/ray" --executor ray --ray-address "$SIBYL_RAY_ADDRESS")
same=no; cmp -s "$work/local/search.jsonl" "$work/ray/search.jsonl" && same=yes
echo "OpenBLAS kernels: OpenBLAS's own choice (OPENBLAS_CORETYPE unset)"
printf 'local %d s, ray %d s, ratio %.3f, same search.jsonl: %s\n' "$t_local" "$t_ray" \
  "$(echo "$t_ray / $t_local" | bc -l)" "$same"
