#!/usr/bin/env bash
# `make demo`: the whole path on a built-in corpus, no data to find.
#   synthetic corpus -> Beam pipeline (DirectRunner) -> torchrun (2 CPU processes, or 1-2 GPUs)
#   -> evaluation against the planted truth -> nearest neighbours -> HTML report.
# Usage: scripts/demo.sh [DIR] (default: demo/). Environment: PYTHON, DEMO_TOKENS, DEMO_EPOCHS.
set -euo pipefail
PYTHON=${PYTHON:-python3}
dir=${1:-demo}
tokens=${DEMO_TOKENS:-1000000}
epochs=${DEMO_EPOCHS:-5}
gpus=$($PYTHON -c 'import torch; print(torch.cuda.device_count())')
# 2 processes show the multi-process path (the block scheme: sgns/train/blocks.py); 1 on one GPU
nproc=$([ "$gpus" -eq 1 ] && echo 1 || echo 2)
mkdir -p "$dir"
start=$(date +%s)

echo "== 1/5 generating a synthetic corpus with planted structure ($tokens tokens)"
$PYTHON -m sgns.synth --output "$dir/corpus.txt.gz" --tokens "$tokens"

echo "== 2/5 preprocessing with the Beam pipeline (DirectRunner)"
$PYTHON -m sgns.pipeline.preprocess --input "$dir/corpus.txt.gz" --output "$dir/data" --overwrite

# Each rank trains the blocks of the table it owns and hands them on between episodes
# (sgns/train/blocks.py). The torch engine (GPUs, or a CPU without a C compiler) sums a
# micro-step's updates; the native engine applies pairs one by one; 8192 per rank costs fewer
# steps (BENCHMARKS.md).
batch=4096
if [ "$gpus" -eq 0 ] && $PYTHON -c 'import sys; from sgns.train.native import build; sys.exit(not build.available())'; then
  batch=8192
fi
echo "== 3/5 training with torchrun on $nproc process(es), $batch pairs per process per step"
rm -rf "$dir/run"
$PYTHON -m torch.distributed.run --standalone --nproc-per-node "$nproc" -m sgns.train \
  --data "$dir/data" --output "$dir/run" --epochs "$epochs" --batch-size "$batch"

echo "== 4/5 evaluating against the planted truth"
truth="$dir/corpus.txt.gz.truth.json"
eval_args=(--synth-truth "$truth" --similarity "$dir/corpus.txt.gz.similarity.tsv")
$PYTHON -m sgns.eval "$dir/run" "${eval_args[@]}" --json > "$dir/run/eval.json"
$PYTHON -m sgns.eval "$dir/run" "${eval_args[@]}"
words=$($PYTHON - "$truth" <<'PY'
import json, sys
truth = json.load(open(sys.argv[1]))
print(",".join(cluster[0] for cluster in truth["clusters"][:4]))
PY
)
echo "== nearest neighbours of $words"
$PYTHON -m sgns.eval "$dir/run" --neighbors "$words" --topn 8

echo "== 5/5 writing the report"
$PYTHON -m sgns.report "$dir/run" --eval "$dir/run/eval.json" --synth-truth "$truth"
echo
echo "Done in $(( $(date +%s) - start )) s."
echo "Vectors: $dir/run/vectors.txt   Report: $dir/run/report.html"
