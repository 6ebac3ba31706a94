"""sgns-eval's scores on odd evaluation files and odd streams (issue 20, fifth probe): sections
that share a name, questions with no candidate left, scores near 1e300, a stdout that cannot
encode a word, a vector file whose header does not match its lines."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from sgns.eval.cli import main
from sgns.eval.planted import evaluate_synthetic
from sgns.eval.scoring import evaluate_analogies, evaluate_similarity, pearson
from sgns.vectors import write_vectors

WORDS = [f"w{i}" for i in range(40)]
VECTORS = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)


def _questions(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(f"w{i}" for i in rng.choice(40, 4, replace=False)) for _ in range(n)]


@pytest.mark.parametrize("name", ["s1", ""])
def test_sections_that_share_a_name_are_each_counted_with_their_own_questions(tmp_path, name):
    """(F4) two ': s1' sections of 10 and 20 questions were each 30; gensim keeps 10 and 20."""
    path = tmp_path / "q.txt"
    lines = [f": {name}", *_questions(10, 1), ": other", *_questions(5, 2), f": {name}"]
    path.write_text("\n".join(lines + _questions(20, 3)) + "\n")
    result = evaluate_analogies(WORDS, VECTORS, str(path))
    counts = [(s["section"], s["questions"]) for s in result["sections"]]
    shown = name or "(unnamed)"
    assert counts == [(shown, 10), ("other", 5), (shown, 20)] and result["questions"] == 35
    assert sum(s["correct"] for s in result["sections"]) == result["correct"]
    assert (
        result["sections"][0]["correct"]
        == evaluate_analogies(WORDS, VECTORS, _one_section(tmp_path, lines[1:11]))["correct"]
    )  # (each its own questions' answers)


def _one_section(tmp_path, questions: list[str]) -> str:
    path = tmp_path / "one.txt"
    path.write_text(": s\n" + "\n".join(questions) + "\n")
    return str(path)


def test_planted_analogies_made_in_code_are_counted_by_their_sections_name():
    truth = {"clusters": [WORDS[:5]], "analogies": {"x": [WORDS[:4]], "y": [WORDS[4:8]] * 2}}
    sections = evaluate_synthetic(WORDS, VECTORS, truth, k=3)["analogies"]["sections"]
    assert [(s["section"], s["questions"]) for s in sections] == [("x", 1), ("y", 2)]


def test_a_question_whose_every_candidate_is_excluded_is_wrong_not_answered_with_a_question_word(
    tmp_path,
):
    """(F5) with --restrict-vocab 2, 'a b b a' had only a and b as candidates, both excluded:
    argmax over -inf answered row 0, 'a', counted correct (0.500; gensim 0.0)."""
    path = tmp_path / "q.txt"
    path.write_text(": s\na b b a\nb a a b\n")
    vectors = np.eye(4, dtype=np.float32) + 0.1
    result = evaluate_analogies(list("abcd"), vectors, str(path), restrict_vocab=2)
    assert (result["correct"], result["questions"], result["accuracy"]) == (0, 2, 0.0)
    with_all = evaluate_analogies(list("abcd"), vectors, str(path), restrict_vocab=4)
    assert with_all["questions"] == 2  # (c and d are candidates: answered, never a or b)


def test_similarity_scores_near_1e300_give_the_pearson_of_the_same_scores_and_no_warning(
    tmp_path,
):
    """(F7) pearson 0.000 (0.010 unscaled) and six numpy RuntimeWarnings on stderr."""
    rng = np.random.default_rng(3)
    pairs = [(f"w{a}", f"w{b}", float(rng.uniform(0, 10))) for a, b in rng.integers(0, 40, (30, 2))]
    (tmp_path / "s.tsv").write_text("".join(f"{a}\t{b}\t{s!r}\n" for a, b, s in pairs))
    (tmp_path / "big.tsv").write_text("".join(f"{a}\t{b}\t{s * 1e300!r}\n" for a, b, s in pairs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a numpy warning fails the test)
        plain = evaluate_similarity(WORDS, VECTORS, str(tmp_path / "s.tsv"))
        big = evaluate_similarity(WORDS, VECTORS, str(tmp_path / "big.tsv"))
        assert pearson([1e-300, 2e-300, 4e-300], [1, 2, 4]) == pytest.approx(1.0)
        assert pearson([1.7e308, -1.7e308, 1e308], [1, -1, 0.5]) == pytest.approx(
            pearson([1.7, -1.7, 1.0], [1, -1, 0.5])
        )
    assert big["pearson"] == pytest.approx(plain["pearson"], abs=1e-9)
    assert big["spearman"] == pytest.approx(plain["spearman"], abs=1e-12)
    assert abs(plain["pearson"]) > 0.05  # (a correlation to keep, not 0.000)


def test_the_table_on_a_stdout_that_cannot_encode_a_word_escapes_it(tmp_path):
    """(F14) PYTHONIOENCODING=ascii: UnicodeEncodeError, a traceback and exit 1."""
    path = str(tmp_path / "v.txt")
    write_vectors(path, ["東京", "café", "w"], np.eye(3) + 0.1)
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    for extra in ([], ["--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "sgns.eval", path, "--neighbors", "東京,café", *extra],
            capture_output=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        if extra:
            assert json.loads(done.stdout)["neighbors"]["東京"][0][0] == "café"
        else:
            assert b"nearest to \\u6771\\u4eac:" in done.stdout
            assert b"  caf\\xe9" in done.stdout and b"Traceback" not in done.stderr


def test_a_vector_file_whose_header_does_not_match_its_lines_is_one_line(tmp_path, capsys):
    """(F1) sgns-eval read it as binary: neighbours '46', '.781311', all 0.000, exit 0."""
    rows = np.random.default_rng(0).normal(size=(50, 10))
    path = tmp_path / "swapped.txt"
    path.write_text("10 50\n" + "".join(f"w{i} " + " ".join(f"{x:.6g}" for x in r) + "\n"
                                        for i, r in enumerate(rows)))  # fmt: skip
    assert main([str(path), "--neighbors", "w0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sgns-eval: error: ")
    assert "swapped.txt' line 2 has 10 numbers, not the 50 of its header '10 50'" in err[0]


@pytest.mark.parametrize("score", ["nan", "inf", "-inf", "1e309"])
def test_a_first_line_scored_nan_or_inf_is_a_malformed_pair_not_a_header(tmp_path, score):
    """(ninth probe, F2) it was taken as a header and dropped unsaid; later in the file the
    same line counts as malformed."""
    from sgns.eval.sets import read_similarity_pairs

    path = tmp_path / "s.txt"
    path.write_text(f"a\tb\t{score}\nc\td\t1.0\ne\tf\t2.0\n")
    pairs = read_similarity_pairs(str(path))
    assert pairs.malformed == 1 and len(pairs.pairs) == 2
