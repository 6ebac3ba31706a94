"""The run directory: what sgns-train writes and sgns-export, sgns-eval and sgns-report read.

    RUN/config.json      the training configuration and the dataset it read
    RUN/vocab.tsv        the vocabulary trained (sgns.dataset's vocabulary file format)
    RUN/checkpoint.pt    the latest checkpoint (sgns.train.checkpoint)
    RUN/metrics.jsonl    step and epoch records (sgns.train.metrics)
    RUN/vectors.txt      word2vec text vectors, written at the end of the run
    RUN/tensorboard/     TensorBoard scalars (--tensorboard)
    RUN/STOP             made by a user: a --follow run stops at its next poll
    RUN/eval.json, RUN/report.html    written by sgns-eval --json and sgns-report

The names live here and nowhere else. No torch and no Beam here.
"""

from __future__ import annotations

import os

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.tsv"
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.jsonl"
VECTORS_FILE = "vectors.txt"
TENSORBOARD_DIR = "tensorboard"
STOP_FILE = "STOP"
EVAL_FILE = "eval.json"
REPORT_FILE = "report.html"


def run_path(run: str, name: str) -> str:
    """The path of one of the names above inside the run directory `run`."""
    return os.path.join(run, name)
