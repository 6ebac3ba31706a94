"""sgns-synth: a deterministic synthetic language whose planted structure word2vec can learn."""

import gzip
import json
import re
from collections import Counter

import numpy as np
import pytest

from sgns.eval.sets import read_analogies, read_similarity_pairs
from sgns.synth.cli import main
from sgns.synth.config import SynthConfig
from sgns.synth.generate import generate_text, make_lexicon, output_paths, write_synth

SMALL = dict(
    clusters=4,
    cluster_size=5,
    relations=2,
    function_words=10,
    filler_words=50,
    analogies_per_relation=30,
    similarity_pairs=30,
)


def _synth(tmp_path, name="c.txt", **overrides):
    cfg = SynthConfig(**{"tokens": 20_000, **SMALL, **overrides})
    paths = output_paths(str(tmp_path / name))
    truth = write_synth(cfg, paths)
    return cfg, paths, truth


def _lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    _, a, truth_a = _synth(tmp_path, "a.txt", seed=3)
    _, b, truth_b = _synth(tmp_path, "b.txt", seed=3)
    _, c, _ = _synth(tmp_path, "c.txt", seed=4)
    assert _lines(a["corpus"]) == _lines(b["corpus"])
    assert truth_a["clusters"] == truth_b["clusters"]
    assert truth_a["analogies"] == truth_b["analogies"]
    assert _lines(a["corpus"]) != _lines(c["corpus"])


def test_corpus_has_exactly_the_requested_tokens_in_lowercase_lines(tmp_path):
    _, paths, _ = _synth(tmp_path, "c.txt.gz", tokens=12_345)
    lines = _lines(paths["corpus"])
    tokens = [w for line in lines for w in line.split(" ")]
    assert len(tokens) == 12_345
    assert all(re.fullmatch(r"[a-z]+", w) for w in tokens)
    assert 5 < len(tokens) / len(lines) < 20  # sentences, not one long line


def test_chunked_generation_still_gives_exact_token_count(monkeypatch):
    monkeypatch.setattr("sgns.synth.generate.CHUNK_TOKENS", 1000)
    cfg = SynthConfig(tokens=7_777, **SMALL)
    text = "".join(generate_text(cfg, make_lexicon(cfg)))
    assert len(text.split()) == 7_777
    assert text.endswith("\n")


def test_words_are_unique_and_derived_forms_are_lemma_plus_suffix():
    cfg = SynthConfig(**SMALL)
    lex = make_lexicon(cfg)
    assert len(set(lex.words)) == len(lex.words)
    suffixes = ["si", "ki"]
    for row in lex.forms:
        lemma = lex.words[row[0]]
        assert [lex.words[i] for i in row[1:]] == [lemma + s for s in suffixes]


def test_truth_clusters_are_disjoint_and_hold_every_form_of_their_lemmas(tmp_path):
    cfg, _, truth = _synth(tmp_path)
    clusters = truth["clusters"]
    assert len(clusters) == cfg.clusters
    assert all(len(c) == cfg.cluster_size * (1 + cfg.relations) for c in clusters)
    words = [w for c in clusters for w in c]
    assert len(set(words)) == len(words)
    assert not set(words) & set(truth["function_words"])


def test_questions_file_holds_the_truth_analogies_in_google_format(tmp_path):
    cfg, paths, truth = _synth(tmp_path)
    analogy_set = read_analogies(paths["questions"])
    assert analogy_set.malformed == 0
    assert analogy_set.sections == ["plural", "diminutive"]
    expected = [(s, *q) for s, qs in truth["analogies"].items() for q in qs]
    assert analogy_set.questions == expected
    assert len(expected) == cfg.relations * cfg.analogies_per_relation
    for _, a, b, c, d in expected:
        assert a != c and b.startswith(a) and d.startswith(c)


def test_similarity_file_scores_forms_of_one_lemma_above_cluster_mates_above_strangers(tmp_path):
    _, paths, truth = _synth(tmp_path)
    pair_set = read_similarity_pairs(paths["similarity"])
    assert pair_set.malformed == 0 and len(pair_set.pairs) == 30
    forms = 1 + len(truth["relations"])
    cluster_of = {w: i for i, c in enumerate(truth["clusters"]) for w in c}
    lemma_of = {
        w: (i, j // forms) for i, c in enumerate(truth["clusters"]) for j, w in enumerate(c)
    }
    scores = Counter()
    for a, b, score in pair_set.pairs:
        same_cluster = cluster_of[a] == cluster_of[b]
        assert a != b
        assert score == (9.0 if lemma_of[a] == lemma_of[b] else 6.0 if same_cluster else 1.0)
        scores[score] += 1
    assert len(scores) == 3


def test_every_derived_form_follows_a_marker_of_its_relation(tmp_path):
    _, paths, truth = _synth(tmp_path)
    markers = {w: name for name, r in truth["relations"].items() for w in r["markers"]}
    suffix = {name: r["suffix"] for name, r in truth["relations"].items()}
    forms = 1 + len(truth["relations"])
    lemmas = {c[i] for c in truth["clusters"] for i in range(0, len(c), forms)}
    derived = 0
    for line in _lines(paths["corpus"]):
        words = line.split()
        for before, word in zip(["<s>", *words], words):
            if word in lemmas or word not in {w for c in truth["clusters"] for w in c}:
                continue
            derived += 1
            assert before in markers and word.endswith(suffix[markers[before]])
    assert derived > 1000


def test_sentences_draw_most_content_words_from_one_cluster(tmp_path):
    _, paths, truth = _synth(tmp_path)
    cluster_of = {w: i for i, c in enumerate(truth["clusters"]) for w in c}
    in_majority = total = 0
    for line in _lines(paths["corpus"]):
        clusters = [cluster_of[w] for w in line.split() if w in cluster_of]
        if clusters:
            in_majority += Counter(clusters).most_common(1)[0][1]
            total += len(clusters)
    assert in_majority / total > 0.85


def test_word_frequencies_are_zipf_like_with_frequent_function_words(tmp_path):
    cfg = SynthConfig(tokens=200_000)  # the default vocabulary
    lex = make_lexicon(cfg)
    counts = Counter("".join(generate_text(cfg, lex)).split())
    ranked = np.array([c for _, c in counts.most_common()])
    assert counts.most_common(1)[0][0] in {lex.words[i] for i in lex.function}
    assert ranked[0] / 200_000 > 0.03  # like "the"
    top = np.arange(1, 1001)
    slope = np.polyfit(np.log(top), np.log(ranked[:1000]), 1)[0]
    assert -1.6 < slope < -0.8  # Zipf: frequency ~ rank^-1
    assert (ranked < 5).sum() > len(ranked) / 2  # a long rare tail that min_count will cut


def test_generates_exactly_the_tokens_asked_for(tmp_path):
    # (its speed, about 0.2 s a million tokens, is a benchmark's to say: no timed test here)
    cfg = SynthConfig(tokens=1_000_000)
    lex = make_lexicon(cfg)
    tokens = sum(len(text.split()) for text in generate_text(cfg, lex))
    assert tokens == 1_000_000


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"tokens": 0}, "--tokens"),
        ({"relations": 9}, "--relations"),
        ({"cluster_size": 1}, "--cluster-size"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_invalid_options_raise_value_error_naming_the_option(overrides, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig(**overrides)


def test_cli_writes_corpus_truth_and_questions(tmp_path):
    out = tmp_path / "corpus.txt.gz"
    assert main(["--output", str(out), "--tokens", "5000", "--seed", "1"]) == 0
    truth = json.loads((tmp_path / "corpus.txt.gz.truth.json").read_text())
    assert truth["config"]["tokens"] == 5000 and truth["config"]["seed"] == 1
    assert (tmp_path / "corpus.txt.gz.questions-words.txt").read_text().startswith(": plural\n")
    assert len(_lines(str(out))) > 100


def test_cli_error_is_one_line_and_exit_code_2(tmp_path, capsys):
    assert main(["--output", str(tmp_path / "c.txt"), "--tokens", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sgns-synth: error: --tokens")
    assert main(["--output", str(tmp_path), "--tokens", "10"]) == 2  # a directory
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"sgns-synth: error: --output {tmp_path} is a directory; give the path of the file"
    )
    assert main(["--output", str(tmp_path / "c.txt"), "--truth", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sgns-synth: error: --truth {tmp_path} is a dir")
    assert list(tmp_path.iterdir()) == []  # (refused before the corpus was written)


def test_cli_makes_the_output_directory(tmp_path):
    out = tmp_path / "new" / "dir" / "c.txt"
    assert main(["--output", str(out), "--tokens", "100"]) == 0
    assert out.exists()


def test_gensim_skipgram_recovers_the_planted_clusters_and_analogies():
    gensim = pytest.importorskip("gensim")
    from sgns.eval.planted import evaluate_synthetic
    from sgns.synth.truth import truth

    cfg = SynthConfig(
        tokens=300_000,
        clusters=6,
        cluster_size=8,
        relations=2,
        filler_words=2000,
        analogies_per_relation=200,
    )
    lex = make_lexicon(cfg)
    sentences = [line.split() for line in "".join(generate_text(cfg, lex)).splitlines()]
    model = gensim.models.Word2Vec(
        sentences,
        sg=1,
        vector_size=50,
        window=5,
        negative=5,
        min_count=5,
        epochs=5,
        workers=2,
        seed=1,
    )
    planted = truth(cfg, lex)
    learned = evaluate_synthetic(model.wv.index_to_key, model.wv.vectors, planted)
    assert learned["cluster_precision"] > 0.9
    assert learned["analogies"]["accuracy"] > 0.6
    noise = np.random.default_rng(0).standard_normal(model.wv.vectors.shape)
    chance = evaluate_synthetic(model.wv.index_to_key, noise, planted)
    assert chance["cluster_precision"] < 0.2 and chance["analogies"]["accuracy"] < 0.1
