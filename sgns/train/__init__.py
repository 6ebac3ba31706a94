"""The trainer: streams a dataset directory's pair shards and trains SGNS vectors with PyTorch,
in 1..N processes under torchrun (`python -m sgns.train`, or the sgns-train command).

    config.py     TrainConfig: every setting and default; validates, never acts
    options.py    sgns-train's options: one schema of help, groups, where each applies
    cli.py        the sgns-train command line; __main__.py runs it
    trainer.py    Trainer: one rank's run, stage by stage, epoch by epoch; train()
    plan.py       training stages and each epoch's split of the stream across ranks
    shards.py     the dataset's checked metadata and its row groups, as the trainer reads them
    loader.py     batches of a rank's row groups for the DataLoader
    table.py      the (2V, D) parameter table: layout, initialisation, growth, vectors
    sampler.py    negatives from count^0.75 in O(1) (alias tables)
    step.py       the torch engine's step as pure tensor functions
    torch_engine.py   the torch engine: micro-steps, no host sync, eager / compiled / CUDA graph
    engines.py    the native engine, and the choice between the two
    native/       the native engine's C kernel: build.py compiles it, kernel.py calls it
    distributed.py  torchrun's environment, process groups, small collectives
    blocks.py     several ranks: which rank owns which rows of the table in which episode
    exchange.py   every collective of several ranks: routing pairs, rotating blocks, gathering
    episodes.py   an epoch of several ranks (real or emulated): chunks, N episodes each
    seeds.py      every random stream, derived from --seed
    checkpoint.py, resume.py    the checkpoint's layout and (background) I/O; whether a run
                  may continue
    run_files.py  RUN/config.json, RUN/vocab.tsv, RUN/vectors.txt
    follow.py     --follow: train increments as the dataset grows
    metrics.py    RUN/metrics.jsonl, TensorBoard, progress
    export.py     the sgns-export command

Called, this package is the Python API's train: `sgns.train(data, output, **settings)` is
sgns.api.commands.train (the package and the call share the name `sgns.train`).
"""

import sys as _sys
import types as _types


class _CallablePackage(_types.ModuleType):
    def __call__(self, data, output, **settings):
        """Train on the dataset `data` into the run directory `output`, as sgns-train does;
        returns the Run (sgns.api.commands.train says all)."""
        from sgns.console.imports import imported_whole

        with imported_whole():  # (numpy's import: Ctrl-C waits for it, sgns.console.imports)
            from sgns.api.commands import train

        return train(data, output, **settings)


_sys.modules[__name__].__class__ = _CallablePackage
