"""The generator of sgns-synth's language: a seeded synthetic corpus with known ground truth.

The language has function words (frequent, in every sentence), rare filler words (a Zipf tail with
no structure) and content words. Content words come in topical clusters: each cluster has lemmas
("dapo") and every lemma has one derived form per relation ("daposi" = the "plural" of "dapo").
What skip-gram learns is PMI-like co-occurrence, so the structure is planted as co-occurrence:

- topic: a sentence draws all its content words from one cluster, so words of a cluster share
  contexts and become neighbours;
- identity: a sentence has a focus lemma that fills ~40% of its content slots (in any form), so a
  lemma and its derived forms share lemma-specific contexts (and c's forms differ from c's
  cluster-mates' forms, which is what lets an analogy pick the right answer);
- relation: a derived form is always preceded by one of its relation's marker words (like
  "these dogs"), so form(a) - a is the same contextual shift for every lemma and
  a : form(a) :: c : form(c) is answerable by 3CosAdd.

Outputs (`write_synth`): the corpus (one sentence per line, .gz when PATH ends in .gz),
PATH.truth.json (clusters and analogy questions), PATH.questions-words.txt (the analogies in
Google's format) and PATH.similarity.tsv (word pairs with planted scores, WordSim-353 layout).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
from collections.abc import Iterator

import numpy as np

from sgns.files import SignalsHeld, atomic_open
from sgns.synth.config import SynthConfig
from sgns.synth.lexicon import RELATIONS, Lexicon, build_lexicon
from sgns.synth.truth import FORMAT as TRUTH_FORMAT
from sgns.synth.truth import similarity_pairs, truth

# Generation constants: shape, not options. Content slot: 0-3 function/filler words, a marker if
# the form is derived, then the content word.
CONTENT_SLOTS = (2, 7)  # content words per sentence: uniform on [2, 7)
FOCUS_SHARE = 0.4  # share of content slots that repeat the sentence's focus lemma
STRAY_SHARE = 0.15  # share of the other content slots drawn from any cluster (topic noise)
BASE_SHARE = 0.55  # share of content words in base form (the rest split over the relations)
GAP_PROBS = (0.25, 0.4, 0.25, 0.1)  # function-word slots before a content word: 0, 1, 2, 3
FILLER_SHARE = 0.25  # share of function-word slots that hold a filler word instead
CHUNK_TOKENS = 1 << 20


def zipf(n: int, exponent: float = 1.0) -> np.ndarray:
    """Probabilities of ranks 1..n proportional to rank^-exponent."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def generate_chunk(cfg: SynthConfig, lex: Lexicon, rng: np.random.Generator, sentences: int):
    """Token ids (T,) and a boolean mask (T,) that is True at the last token of each sentence."""
    topic = rng.choice(cfg.clusters, sentences, p=zipf(cfg.clusters, 0.5))
    focus = rng.choice(cfg.cluster_size, sentences, p=zipf(cfg.cluster_size, 0.8))
    n_content = rng.integers(*CONTENT_SLOTS, sentences)
    slot_sentence = np.repeat(np.arange(sentences), n_content)  # (K,)
    k = len(slot_sentence)
    other = rng.choice(cfg.cluster_size, k, p=zipf(cfg.cluster_size, 0.8))
    is_focus = rng.random(k) < FOCUS_SHARE
    stray = ~is_focus & (rng.random(k) < STRAY_SHARE)
    cluster = np.where(stray, rng.integers(0, cfg.clusters, k), topic[slot_sentence])
    lemma = np.where(is_focus, focus[slot_sentence], other) + cluster * cfg.cluster_size
    form = np.where(rng.random(k) < BASE_SHARE, 0, rng.integers(1, cfg.relations + 1, k))
    has_marker = form > 0
    gap = rng.choice(len(GAP_PROBS), k, p=GAP_PROBS)
    slot_end = np.cumsum(gap + has_marker + 1)  # one past each slot's last token
    ids = np.empty(slot_end[-1], dtype=np.int64)
    filled = np.zeros(len(ids), dtype=bool)
    ids[slot_end - 1] = lex.forms[lemma, form]
    marker_at = slot_end[has_marker] - 2
    marker_pick = rng.integers(0, lex.markers.shape[1], len(marker_at))
    ids[marker_at] = lex.markers[form[has_marker] - 1, marker_pick]
    filled[slot_end - 1] = True
    filled[marker_at] = True
    free = np.flatnonzero(~filled)
    background = lex.function[rng.choice(len(lex.function), len(free), p=zipf(len(lex.function)))]
    if len(lex.filler):
        is_filler = rng.random(len(free)) < FILLER_SHARE
        picks = rng.choice(len(lex.filler), int(is_filler.sum()), p=zipf(len(lex.filler), 1.0))
        background[is_filler] = lex.filler[picks]
    ids[free] = background
    sentence_end = np.zeros(len(ids), dtype=bool)
    sentence_end[slot_end[np.cumsum(n_content) - 1] - 1] = True
    return ids, sentence_end


def generate_text(cfg: SynthConfig, lex: Lexicon):
    """Yield the corpus as text chunks (whole lines), exactly `cfg.tokens` tokens in all."""
    rng = np.random.default_rng([cfg.seed, 1])
    # Row id of a word + V when it ends its sentence.
    with_space = np.array([w + " " for w in lex.words] + [w + "\n" for w in lex.words], object)
    remaining = cfg.tokens
    while remaining > 0:
        want = min(remaining, CHUNK_TOKENS)
        ids, end = generate_chunk(cfg, lex, rng, sentences=want // 10 + 1)
        if len(ids) >= remaining:  # the last chunk: cut, and end the corpus with a sentence
            ids, end = ids[:remaining], end[:remaining]
            end[-1] = True
        remaining -= len(ids)
        yield "".join(with_space[ids + end * len(lex.words)])


def sentences(cfg: SynthConfig) -> Iterator[list[str]]:
    """The corpus as token lists, one per sentence, made as they are asked for: the lines
    `write_synth` writes, for sgns.fit and the Python API's examples."""
    for text in generate_text(cfg, make_lexicon(cfg)):
        for line in text.splitlines():
            yield line.split()


def planted_truth(cfg: SynthConfig) -> dict:
    """The ground truth `write_synth` writes beside the corpus (clusters, analogy questions)."""
    return truth(cfg, make_lexicon(cfg))


def make_lexicon(cfg: SynthConfig) -> Lexicon:
    """The lexicon of this configuration (a pure function of the config)."""
    return build_lexicon(
        cfg.seed,
        cfg.clusters,
        cfg.cluster_size,
        cfg.relations,
        cfg.function_words,
        cfg.filler_words,
    )


def output_paths(output: str, truth_path: str | None = None) -> dict[str, str]:
    """Where the corpus and the files beside it go."""
    return {
        "corpus": output,
        "truth": truth_path or output + ".truth.json",
        "questions": output + ".questions-words.txt",
        "similarity": output + ".similarity.tsv",
    }


# How each file write_synth writes beside the corpus begins: a file there that begins otherwise
# is not one sgns-synth wrote, and is not written over (`side_file_ours`).
SIMILARITY_HEADER = "# sgns-synth planted similarity"
_STARTS = {
    "truth": f'{{\n "format": "{TRUTH_FORMAT}"'.encode(),
    "questions": f": {RELATIONS[0][0]}\n".encode(),  # (its first section, every relation's first)
    "similarity": SIMILARITY_HEADER.encode(),
}


# The truth file's keys (json.dump, indent 1: a key at the top level is a line's first after one
# space). One written before it began with "format" begins with its config, then its clusters.
TRUTH_KEYS = {"format", "config", "clusters", "relations", "function_words", "analogies", "files"}
_TOP_KEY = re.compile(rb'^ "(\w+)": ', re.MULTILINE)


def side_file_ours(name: str):
    """`ours(head)` for sgns.files.check_side_file: whether the first bytes of a file are those
    of the `name` file ("truth", "questions", "similarity") that write_synth writes."""
    if name == "truth":
        return _truth_head
    return lambda head: head.startswith(_STARTS[name])


def _truth_head(head: bytes) -> bool:
    if head.startswith(_STARTS["truth"]):
        return True
    keys = {key.decode() for key in _TOP_KEY.findall(head)}
    return head.startswith(b'{\n "config": {') and {"config", "clusters"} <= keys <= TRUTH_KEYS


def write_synth(cfg: SynthConfig, paths: dict[str, str]) -> dict:
    """Generate and write the corpus and its truth files; returns the truth. The four files are
    written to temporary files (sgns.files.atomic_open) renamed together at the end, signals
    held (SignalsHeld): a failed or interrupted run leaves the files that were there as they
    were, none replaced without the others, and a path that is a symbolic link is replaced by
    the new file, never written through to the file it points at."""
    lex = make_lexicon(cfg)
    # the folder as given (not abspath, which resolves "link/.." by the text, away from the
    # folder the kernel and atomic_open reach through the link)
    os.makedirs(os.path.dirname(paths["corpus"]) or os.curdir, exist_ok=True)
    # (entered first, renamed last: a rename that fails all the same leaves the corpus)
    with SignalsHeld() as held, contextlib.ExitStack() as files:
        corpus = paths["corpus"]
        f = files.enter_context(_atomic_text(corpus, gzipped=corpus.endswith(".gz")))
        for text in generate_text(cfg, lex):
            f.write(text)
        planted = truth(cfg, lex)
        planted["files"] = {k: v for k, v in paths.items() if k != "truth"}
        f = files.enter_context(_atomic_text(paths["truth"]))
        json.dump(planted, f, indent=1)
        f.write("\n")
        f = files.enter_context(_atomic_text(paths["questions"]))
        for section, questions in planted["analogies"].items():
            f.write(f": {section}\n")
            f.writelines(" ".join(q) + "\n" for q in questions)
        f = files.enter_context(_atomic_text(paths["similarity"]))
        f.write(
            f"{SIMILARITY_HEADER}: 9 = forms of one lemma, 6 = same cluster, "
            "1 = different clusters\n# Word 1\tWord 2\tScore\n"
        )
        f.writelines(f"{a}\t{b}\t{s:.1f}\n" for a, b, s in similarity_pairs(cfg, lex))
        held.hold()  # from here: the four renamed (as the stack ends), or none
    return planted


@contextlib.contextmanager
def _atomic_text(path: str, gzipped: bool = False):
    """A UTF-8 text file that becomes `path` when the block ends without an error (gzip level
    1 when `gzipped`: much faster than 9, a little larger)."""
    with atomic_open(path, durable=False) as raw:
        stream = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) if gzipped else raw
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
        yield text
        text.detach()  # flushed; `raw` stays open for atomic_open to commit
        if gzipped:
            stream.close()  # writes the gzip trailer (and leaves `raw` open)
