"""`fit`: vectors from sentences in memory or corpus files on this machine, in one call.

>>> import sgns
>>> from sgns.synth import SynthConfig, planted_truth, sentences
>>> config = SynthConfig(tokens=100_000)  # sgns-synth's made-up language, with planted topics
>>> wv = sgns.fit(sentences(config), vector_size=32, workers=1)  # token lists, streamed
>>> wv
Vectors(1089 words, 32 dimensions)
>>> topic = planted_truth(config)["clusters"][0]  # words that share their contexts
>>> [word in topic for word, _ in wv.most_similar(topic[0], topn=5)]
[True, True, True, True, True]
>>> sgns.fit(sentences(config), window=0)
Traceback (most recent call last):
sgns.errors.UsageError: --window must be an integer >= 1, got 0
>>> sgns.fit(sentences(config), windows=10)
Traceback (most recent call last):
sgns.errors.UsageError: sgns.fit has no setting 'windows' (did you mean window?)
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import shutil
import tempfile

from sgns.api.commands import train
from sgns.api.settings import check_names, parse, usage_errors
from sgns.console.environment import ranks
from sgns.console.imports import imported_whole
from sgns.errors import UsageError, quote
from sgns.files import path_argument
from sgns.pipeline.config import PipelineConfig
from sgns.rundir import check_local
from sgns.train.config import TrainConfig
from sgns.vectors.keyed import Vectors

# gensim's Word2Vec keywords that are ours under another name (size and iter: gensim 3's)
ALIASES = {
    "vector_size": "dim", "size": "dim", "negative": "negatives", "iter": "epochs",
    "workers": "threads", "alpha": "lr", "min_alpha": "min_lr_ratio",
    "max_final_vocab": "max_vocab",
}  # fmt: skip
# gensim keywords for what sgns always does: accepted with that value only
ONLY = {"sg": (1, "sgns trains skip-gram (sg=1)"), "hs": (0, "sgns trains negative sampling")}
# The dataset settings fit takes (the others say where a dataset goes and how it is written),
# and the sgns-train options it takes (the others are about runs that go on: resume, online).
NOT_PIPELINE = ("inputs", "output", "overwrite", "append", "shuffle")
NOT_TRAIN = (
    "data", "output", "resume", "follow", "poll_seconds", "follow_max_increments",
    "increment_lr", "replay", "stop_after_steps",
)  # fmt: skip
CORPUS_FILE = "corpus.txt"  # in the work directory: the sentences given, one per line


def fit(sentences_or_paths, *, workdir=None, **settings) -> Vectors:
    """Train vectors on a corpus that fits on this machine and return them.

    `sentences_or_paths`: an iterable of sentences, each a list of str tokens (a generator is
    read once, each sentence written to a corpus file as it comes, none kept), or a corpus
    file, directory or glob pattern, or a list of them (plain, .gz or .bz2), found as
    sgns-preprocess's --input finds them (a pattern does not follow a link to a directory:
    a warning names a file it skips; give that directory itself). The dataset is
    built by sgns-preprocess's stages but without Beam (`python -m sgns.pipeline.local`: the
    corpus's text and pairs are held in memory), then trained as `sgns-train` trains; the
    result is what `sgns.load` reads from the run. `workdir`: a new or empty directory that
    keeps the corpus file of the sentences (WORKDIR/corpus.txt), the dataset (WORKDIR/dataset)
    and the run (WORKDIR/run: sgns-eval and sgns-report read it); without one, a temporary
    directory, removed at the end.

    `settings`: sgns-preprocess's dataset settings (min_count, max_vocab, sample, window,
    passes, lowercase, ...) and sgns-train's options (dim, negatives, epochs, lr, threads,
    engine, device, ...), with underscores; `seed` seeds both. A setting not given has the
    commands' default (PipelineConfig's, TrainConfig's). gensim's names are taken too:
    vector_size (or size) -> dim, negative -> negatives, workers -> threads, alpha -> lr,
    min_alpha -> min_lr_ratio = min_alpha / lr, iter -> epochs, max_final_vocab ->
    max_vocab; window, min_count, sample, ns_exponent, epochs and seed are the same; sg=1
    and hs=0 are what sgns does (other values are refused). workers=1 (one thread) gives the
    same vectors every time; more threads train Hogwild, as word2vec.c and gensim do. One
    process: under torchrun, call sgns.preprocess once and sgns.train on every rank.
    """
    if not ranks().alone:  # (WORLD_SIZE= or "x": one line naming it, as sgns.train says)
        raise UsageError("sgns.fit runs in one process: under torchrun, use sgns.preprocess "
                         "once and sgns.train on every rank")  # fmt: skip
    pipeline_settings, train_settings = _split(settings)
    with _workdir(workdir) as root:
        dataset, run = os.path.join(root, "dataset"), os.path.join(root, "run")
        with usage_errors():  # every setting is checked before any work
            config = PipelineConfig(("-",), dataset, **pipeline_settings)
        _check_train(dataset, run, train_settings)
        paths = _corpus(sentences_or_paths, os.path.join(root, CORPUS_FILE))
        decoding = sorted({"encoding", "errors"} & pipeline_settings.keys())
        if decoding and paths == [os.path.join(root, CORPUS_FILE)]:
            raise UsageError(f"{' and '.join(decoding)}: for corpus files; sentences are "
                             "str already (written as UTF-8): leave it out")  # fmt: skip
        with imported_whole():  # (pyarrow's import, when called: Ctrl-C waits for it)
            from sgns.pipeline import local

        with usage_errors():
            local.build(dataclasses.replace(config, inputs=tuple(paths)), paths)
        return train(dataset, run, **train_settings).vectors


def _split(settings: dict) -> tuple[dict, dict]:
    """gensim's names as ours, then (the dataset's settings, sgns-train's)."""
    pipeline_names = [f.name for f in dataclasses.fields(PipelineConfig)]
    pipeline_names = [n for n in pipeline_names if n not in NOT_PIPELINE]
    train_names = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in NOT_TRAIN]
    check_names("sgns.fit", settings, pipeline_names + train_names, [*ALIASES, *ONLY])
    ours, given_as = {}, {}
    for name, value in settings.items():
        if name in ONLY:
            if value != ONLY[name][0]:
                raise UsageError(f"{name}={value!r}: {ONLY[name][1]}; leave {name} out")
            continue
        own = ALIASES.get(name, name)
        if own in ours:
            raise UsageError(f"{given_as[own]} and {name} are the same setting: give one")
        ours[own], given_as[own] = value, name
    if "min_alpha" in settings:  # gensim's final rate; ours is a fraction of the first
        lr = ours.get("lr", TrainConfig.__dataclass_fields__["lr"].default)
        try:
            ours["min_lr_ratio"] = _plain(settings["min_alpha"]) / _plain(lr)
        except TypeError:
            raise UsageError(
                f"min_alpha and alpha are numbers, got {settings['min_alpha']!r}"
            ) from None
    pipeline = {k: _plain(v) for k, v in ours.items() if k in pipeline_names and v is not None}
    for name, value in pipeline.items():  # (a flag: the command's takes no value)
        default = PipelineConfig.__dataclass_fields__[name].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise UsageError(f"{name} is True or False, got {value!r}")
    return pipeline, {k: v for k, v in ours.items() if k in train_names}


def _plain(value):
    """A numpy scalar as its Python number (PipelineConfig checks Python types)."""
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else value


def _check_train(dataset: str, run: str, settings: dict) -> None:
    """sgns-train's parse and TrainConfig's checks of `settings`, before the dataset is made."""
    with imported_whole():  # (torch's import, when called: Ctrl-C waits for it)
        from sgns.train.cli import train_parser

    args = parse(train_parser(), settings, {"data": dataset, "output": run})
    with usage_errors():
        TrainConfig(**vars(args))


WRITTEN = (CORPUS_FILE, "dataset", "run")  # what fit writes in its workdir


@contextlib.contextmanager
def _workdir(path):
    """The given directory (made; it must be new or empty), or a temporary one removed after.
    A call that fails (or is interrupted) leaves the given one as it found it, so that a retry
    can use it: what it wrote there is removed, and the folders it made for it."""
    if path is None:
        with tempfile.TemporaryDirectory(prefix="sgns-fit-") as temporary:
            yield temporary
        return
    path = path_argument("workdir", path)
    check_local(path, "workdir")
    if os.path.isdir(path) and os.listdir(path):
        raise UsageError(f"workdir {path!r} is not empty: give a new or empty directory")
    made, folder = [], os.path.abspath(path)  # the folders made for it, deepest first
    while not os.path.lexists(folder):
        made.append(folder)
        folder = os.path.dirname(folder)
    with usage_errors():
        os.makedirs(path, exist_ok=True)
    try:
        yield path
    except BaseException:
        for name in WRITTEN:
            written = os.path.join(path, name)
            if os.path.isdir(written) and not os.path.islink(written):
                shutil.rmtree(written, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(written)
        for folder in made:
            with contextlib.suppress(OSError):  # (one that holds another's file stays)
                os.rmdir(folder)
        raise


def _corpus(source, path: str) -> list[str]:
    """The corpus files of `source`: its sentences written to `path`, or its files."""
    if isinstance(source, (str, os.PathLike)):
        return _files([source])
    try:
        items = iter(source)
    except TypeError:
        raise UsageError(
            f"sgns.fit takes sentences (lists of tokens) or corpus paths, got {source!r}"
        ) from None
    first = next(items, None)
    if first is None:
        raise UsageError("sgns.fit got no sentences and no corpus paths")
    items = itertools.chain([first], items)
    if isinstance(first, (str, os.PathLike)):
        return _files(list(items))
    with usage_errors():  # (a full disk, a token no codec writes: the line)
        _write_sentences(items, path)
    return [path]


def _write_sentences(sentences, path: str) -> None:
    """One line per sentence, its tokens joined by a space: read back, the same tokens."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for number, sentence in enumerate(sentences, 1):
            if isinstance(sentence, (str, bytes)) or not hasattr(sentence, "__iter__"):
                said = quote(sentence) if isinstance(sentence, str) else type(sentence).__name__
                raise UsageError(
                    f"sentence {number} is {said}: a sentence is a list of str tokens "
                    "(e.g. line.split())"
                )
            sentence = list(sentence)
            if not all(isinstance(t, str) for t in sentence):
                bad = next(t for t in sentence if not isinstance(t, str))
                raise UsageError(f"sentence {number} holds {bad!r}: tokens are str")
            line = " ".join(sentence)
            if len(line.split()) != len(sentence):  # a space inside a token, or an empty one
                bad = next(t for t in sentence if t.split() != [t])
                raise UsageError(
                    f"sentence {number} holds the token {quote(bad)}: a token is neither empty "
                    "nor holds whitespace (join the words of a phrase with _)"
                )
            try:
                f.write(line + "\n")
            except UnicodeEncodeError as e:  # (a lone surrogate: errors="surrogateescape" text)
                bad = next(t for t in sentence if not _encodes(t))
                raise UsageError(
                    f"sentence {number} holds the token {quote(bad)}, whose {line[e.start]!r} "
                    "UTF-8 cannot encode (a lone surrogate): decode the text with "
                    'errors="replace", or drop the token'
                ) from None


def _encodes(token: str) -> bool:
    try:
        token.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _files(patterns: list) -> list[str]:
    """The local files that `patterns` name, listed by sgns-preprocess's own --input listing
    (sgns.pipeline.text.read.list_files): a file as it is, a directory for the files in it,
    else a pattern, which does not follow links to directories (said in a warning)."""
    with imported_whole():  # (Beam's match, when paths are given: Ctrl-C waits for it)
        from sgns.pipeline.text.read import list_files

    files = []
    for pattern in patterns:
        if not isinstance(pattern, (str, os.PathLike)):
            raise UsageError(f"sgns.fit got {pattern!r} among corpus paths: give paths only")
        name = os.fspath(pattern)
        if "://" in name:
            raise UsageError(
                f"{name}: sgns.fit reads local files; for an object store run sgns.preprocess "
                "(Beam reads it), then sgns.train"
            )
        try:
            found = [metadata.path for metadata in list_files((name,))]
        except FileNotFoundError as e:
            if e.filename is not None:  # (a file that went, a dangling link: the OS's words)
                raise
            hint = f" (a sentence is a list of tokens: {name!r}.split())" if " " in name else ""
            raise UsageError(f"no corpus file matches {name!r}{hint}") from None
        files += found
    return files
