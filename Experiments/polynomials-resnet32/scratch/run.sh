#!/usr/bin/env bash
# Issue 12: the from-scratch route, all-polynomial degree 4 ResNet-32, same schedule as the all-ReLU baseline.
cd "$(dirname "$0")/../../.."
unset OPENBLAS_CORETYPE
R=""; [ -f runs/poly4-scratch/checkpoint.h5 ] && R="--resume"
exec nice -n 10 .build/release/sibyl train --model resnet32 --dataset cifar100 --epochs 60 --batch-size 128 --lr 0.1 \
  --schedule onecycle --nesterov --label-smoothing 0.1 --weight-decay 5e-4 --seed 1 \
  --activation poly:4 --poly-range 5 --range-penalty 0.5 --coefficient-bits 10 --clip-norm 5 \
  --out runs/poly4-scratch $R
