"""--phrase-words: with keep (the default) the words a phrase joins count and pair exactly as
without phrases, and the phrase token gets the pairs it has in the phrased text; with replace the
phrase takes their place (word2phrase's text). Beam and the build without Beam agree byte for byte;
--append keeps the dataset's choice, and a dataset older than the choice replaced."""

import os
from collections import Counter

import pyarrow.parquet as pq
import pytest
from test_pipeline_phrases import FAST, SETTINGS, _corpus, _vocab
from tree import same_dataset

from sgns import dataset
from sgns.errors import UsageError
from sgns.pipeline.local import main as build_local
from sgns.pipeline.preprocess import main as preprocess

# SETTINGS (2 rounds: new_york_times, bank_of_america) without --phrase-words; window 1
# draws every reach as 1 and sample 0 keeps every token: the pairs are then exactly determined
EXACT = [s for s in SETTINGS if s not in ("--phrase-words", "replace")]
EXACT += ["--window", "1", "--sample", "0", "--passes", "1", "--num-shards", "2"]


def _pairs(directory) -> Counter:
    """Every pair of a dataset, as (center word, context word), counted."""
    words, _ = dataset.read_vocab(str(directory))
    found = Counter()
    for each in dataset.read_manifest(str(directory))["increments"][0]["passes"]:
        for shard in each["shards"]:
            table = pq.read_table(os.path.join(directory, shard["path"]))
            centers, contexts = table["center"].to_pylist(), table["context"].to_pylist()
            found.update((words[a], words[b]) for a, b in zip(centers, contexts))
    return found


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """The corpus built without phrases, with --phrase-words keep and with replace."""
    root = tmp_path_factory.mktemp("words")
    (root / "c.txt").write_text(_corpus())
    plain = [*EXACT, "--phrases", "0"]
    for name, settings in (("none", plain), ("keep", [*EXACT, "--phrase-words", "keep"]),
                           ("replace", [*EXACT, "--phrase-words", "replace"])):  # fmt: skip
        args = ["--input", str(root / "c.txt"), "--output", str(root / name), *settings]
        assert build_local(args) == 0
    return root


def test_kept_words_count_and_pair_as_without_phrases_and_phrases_as_replaced(three):
    none, keep, replace = (_vocab(three / name) for name in ("none", "keep", "replace"))
    phrases = {w for w in replace if "_" in w}
    assert phrases == {"new_york_times", "bank_of_america"}  # (every new_york grew into one)
    assert "new" not in replace and replace["york"] < none["york"]  # (replaced)
    assert keep == {**none, **{w: replace[w] for w in phrases}}  # the words' counts untouched
    with_phrase = Counter({p: n for p, n in _pairs(three / "replace").items()
                           if p[0] in phrases or p[1] in phrases})  # fmt: skip
    assert sum(with_phrase.values()) > 1000
    assert _pairs(three / "keep") == _pairs(three / "none") + with_phrase
    manifests = [dataset.read_manifest(str(three / n)) for n in ("none", "keep")]
    tokens = sum(replace[w] for w in phrases)  # the tokens counted: the words', then the phrases'
    assert manifests[1]["stats"]["tokens"] == manifests[0]["stats"]["tokens"] + tokens
    assert manifests[1]["config"]["phrase_words"] == "keep"


def test_beam_keeps_the_words_as_the_build_without_beam_does(three, tmp_path):
    inputs = str(three / "c.txt")
    settings = [*EXACT, "--window", "3", "--sample", "1e-3", "--block-bytes", "8192"]
    assert preprocess(["--input", inputs, "--output", str(tmp_path / "beam"), *settings,
                       *FAST]) == 0  # fmt: skip
    assert build_local(["--input", inputs, "--output", str(tmp_path / "local"), *settings]) == 0
    same_dataset(tmp_path / "beam", tmp_path / "local")
    assert dataset.read_manifest(str(tmp_path / "beam"))["config"]["phrase_words"] == "keep"


def test_append_keeps_the_datasets_choice_and_refuses_another(three, tmp_path, capsys):
    (tmp_path / "new.txt").write_text("the new york times said so\n" * 40)
    for name in ("keep", "replace"):
        out = tmp_path / name
        args = ["--input", str(tmp_path / "new.txt"), "--output", str(out), "--append", *FAST]
        other = "replace" if name == "keep" else "keep"
        assert build_local(["--input", str(three / "c.txt"), "--output", str(out),
                            *EXACT, "--phrase-words", name]) == 0  # fmt: skip
        before = _vocab(out)
        capsys.readouterr()
        assert preprocess([*args, "--phrase-words", other]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"--phrase-words {other} differs from the dataset's" in err[0]
        assert preprocess(args) == 0
        after = _vocab(out)
        assert after["new_york_times"] == before["new_york_times"] + 40
        grown = 40 if name == "keep" else 0  # kept: "new" counted as well
        assert after.get("new", 0) == before.get("new", 0) + grown


def test_a_dataset_older_than_phrase_words_replaced_its_words():
    from sgns.pipeline.dataset.increment import check_settings
    from sgns.pipeline.options import build_parser
    from sgns.pipeline.preprocess import config_from_args

    older = {"phrases": 1, "phrase_scorer": "npmi", "phrase_threshold": 0.6}  # no phrase_words
    argv = ["--input", "more.txt", "--output", "data", "--append"]
    config = config_from_args(build_parser().parse_args(argv), older)
    assert config.phrase_words == "replace"  # what its phrases did, not today's default
    check_settings(config, older)
    keep = config_from_args(build_parser().parse_args([*argv, "--phrase-words", "keep"]), older)
    with pytest.raises(UsageError, match="--phrase-words keep differs from the dataset's"):
        check_settings(keep, older)
    new = config_from_args(build_parser().parse_args(["--input", "a", "--output", "b"]), None)
    assert new.phrase_words == "keep"


def test_a_phrase_written_in_the_text_is_a_word_not_a_joined_phrase():
    from sgns.pipeline.config import PipelineConfig
    from sgns.pipeline.phrases.blocks import join_block, prepare
    from sgns.pipeline.phrases.table import Phrase, Phrases
    from sgns.pipeline.text.blocks import Block
    from sgns.pipeline.vocab.counting import count_block

    rounds = prepare(Phrases([Phrase("new", "york", 9.0, 5, 1)]))
    config = PipelineConfig(("x",), "out")
    block = Block("0:0:0", "in new york\nin new_york now\n", 0, 2, 0)
    kept = join_block(block, config, rounds)
    assert kept.text == block.text and kept.phrased[0] == "in new_york\nin new_york now\n"
    assert list(kept.phrased[1]) == [0, 1, 0, 0, 0]  # the join, not the word written so
    counts, stats = count_block(kept, lowercase=False)
    counted = dict(zip(counts["word"].to_pylist(), counts["count"].to_pylist()))
    assert counted == {"in": 2, "new": 1, "york": 1, "new_york": 2, "now": 1}
    assert stats.tokens == 6 + 1  # the text's, then the one phrase joined


def test_a_phrase_setting_given_to_an_increment_without_phrases_is_no_difference():
    from sgns.pipeline.dataset.increment import check_settings
    from sgns.pipeline.options import build_parser
    from sgns.pipeline.preprocess import config_from_args

    dataset = {"phrases": 0, "phrase_words": "keep", "phrase_growth": "any"}  # no phrases
    argv = ["--input", "more.txt", "--output", "data", "--append"]
    for more in (["--phrase-words", "replace"], ["--phrase-growth", "extend"]):
        config = config_from_args(build_parser().parse_args([*argv, *more]), dataset)
        check_settings(config, dataset)
    with pytest.raises(UsageError, match="--phrases 1 differs from the dataset's phrases 0"):
        phrased = build_parser().parse_args([*argv, "--phrases", "1", "--phrase-words", "replace"])
        check_settings(config_from_args(phrased, dataset), dataset)
