"""sgns-eval: similarity, analogies, neighbours and planted truth, with gensim's numbers."""

import gzip
import json
import os

import numpy as np
import pytest

from sgns.eval.cli import main
from sgns.eval.planted import cluster_precision, cluster_similarity, evaluate_synthetic
from sgns.eval.scoring import (
    evaluate_analogies,
    evaluate_similarity,
    nearest_neighbors,
    spearman,
)
from sgns.eval.sets import read_analogies, read_similarity_pairs
from sgns.vectors import write_vectors


def _planted_offsets(n=120, dim=30, noise=0.55, seed=0):
    """Words a0.. and their 'x' forms a0x.. (= a + one shared offset + noise), then fillers."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, dim))
    offset = rng.standard_normal(dim) * 1.5
    derived = base + offset + noise * rng.standard_normal((n, dim))
    filler = rng.standard_normal((40, dim))
    words = [f"a{i}" for i in range(n)] + [f"a{i}x" for i in range(n)]
    words += [f"f{i}" for i in range(40)]
    return words, np.vstack([base, derived, filler]).astype(np.float32)


def _gensim_kv(words, vectors):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def _write_questions(path, n=120, seed=1):
    rng = np.random.default_rng(seed)
    lines = [": first"]
    for _ in range(150):
        i, j = rng.choice(n, 2, replace=False)
        lines.append(f"A{i} a{i}x a{j} A{j}X")  # case differs from the vocabulary on purpose
    lines += [": second", "a1 a1x nosuch a2x", "only three words"]
    for _ in range(150):
        i, j = rng.choice(n, 2, replace=False)
        lines.append(f"a{i}x a{i} a{j}x a{j}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_analogy_accuracy_equals_gensim_evaluate_word_analogies(tmp_path):
    words, vectors = _planted_offsets()
    # Case variants later in the vocabulary: copies of question words, so only excluding every
    # variant of a question word (as gensim does) keeps them from being "answers".
    variants = [f"A{i}" for i in range(0, 120, 3)]
    words = words + variants
    vectors = np.vstack([vectors, vectors[[int(v[1:]) for v in variants]] * 1.01])
    questions = _write_questions(tmp_path / "q.txt")
    kv = _gensim_kv(words, vectors)
    for restrict in (30000, 200):  # 200 puts a120x.. outside: their questions are skipped
        ours = evaluate_analogies(words, vectors, questions, restrict_vocab=restrict)
        score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=restrict)
        assert 0.2 < ours["accuracy"] < 0.95  # neither trivial nor hopeless
        assert ours["accuracy"] == pytest.approx(score)
        for mine, theirs in zip(ours["sections"], sections[:-1]):
            assert mine["section"] == theirs["section"]
            assert mine["correct"] == len(theirs["correct"])
            assert mine["questions"] == len(theirs["correct"]) + len(theirs["incorrect"])
    assert ours["oov_questions"] > 1 and ours["malformed"] == 1


def test_similarity_equals_gensim_evaluate_word_pairs_on_wordsim353_and_simlex999():
    gensim = pytest.importorskip("gensim")
    data = os.path.join(os.path.dirname(gensim.__file__), "test", "test_data")
    for name in ("wordsim353.tsv", "simlex999.txt"):
        path = os.path.join(data, name)
        pair_words = sorted(
            {w.lower() for a, b, _ in read_similarity_pairs(path).pairs for w in (a, b)}
        )
        words = pair_words[::3] + pair_words[1::3]  # a third of the words is missing
        vectors = np.random.default_rng(2).standard_normal((len(words), 20)).astype(np.float32)
        ours = evaluate_similarity(words, vectors, path)
        pearson, spear, oov = _gensim_kv(words, vectors).evaluate_word_pairs(path)
        assert ours["spearman"] == pytest.approx(spear.statistic, abs=1e-9)
        assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-6)
        assert 100 * ours["oov_rate"] == pytest.approx(oov)
        assert ours["pairs"] > 20


def test_spearman_gives_tied_values_their_average_rank():
    scipy_stats = pytest.importorskip("scipy.stats")
    x = np.array([1, 2, 2, 2, 5, 6, 6, 8.0])
    y = np.array([3, 1, 4, 1, 5, 9, 2, 6.0])
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)


def test_simlex_original_layout_takes_the_simlex999_column(tmp_path):
    path = tmp_path / "SimLex-999.txt"
    path.write_text(
        "word1\tword2\tPOS\tSimLex999\tconc(w1)\tconc(w2)\n"
        "old\tnew\tA\t1.58\t2.72\t2.81\n"
        "smart\tintelligent\tA\t9.2\t1.75\t2.46\n"
        "broken\tline\n"
    )
    pairs = read_similarity_pairs(str(path))
    assert pairs.pairs == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    assert pairs.malformed == 1


def test_wordsim_layout_skips_comments_and_counts_malformed_lines(tmp_path):
    path = tmp_path / "ws.tsv"
    path.write_text("# a comment\nlove\tsex\t6.77\ntiger\tcat\tseven\n\nnoscore\ntiger cat 7.35\n")
    pairs = read_similarity_pairs(str(path))
    assert pairs.pairs == [("love", "sex", 6.77), ("tiger", "cat", 7.35)]
    assert pairs.malformed == 2


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_lines_end_at_a_carriage_return_too_as_old_mac_and_windows_files_have_them(tmp_path, end):
    pairs = [(f"w{i}", f"v{i}", float(i)) for i in range(25)]
    sim = tmp_path / "sim.tsv"
    sim.write_bytes(end.join(f"{a}\t{b}\t{score}" for a, b, score in pairs).encode() + b"\r")
    assert read_similarity_pairs(str(sim)).pairs == pairs
    questions = tmp_path / "q.txt"
    questions.write_bytes(end.join([": s", "a b c d", "e f g h", ": t", "i j k l"]).encode())
    analogies = read_analogies(str(questions))
    assert [q[0] for q in analogies.questions] == ["s", "s", "t"] and analogies.malformed == 0


def test_a_byte_order_mark_at_an_evaluation_files_start_is_no_part_of_its_first_line(tmp_path):
    sim, questions = tmp_path / "sim.tsv", tmp_path / "q.txt"  # as Windows editors save them
    sim.write_bytes(b"\xef\xbb\xbfold\tnew\t1.58\nsmart\tbright\t9.2\n")
    assert read_similarity_pairs(str(sim)).pairs == [("old", "new", 1.58), ("smart", "bright", 9.2)]
    questions.write_bytes(b"\xef\xbb\xbf: s\na b c d\n: t\ne f g h\n")  # (the mark hid ": s",
    analogies = read_analogies(str(questions))  # and its section's questions were malformed)
    assert [q[0] for q in analogies.questions] == ["s", "t"] and analogies.malformed == 0


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_a_damaged_gzip_evaluation_file_is_named(tmp_path, damage):
    whole = gzip.compress("".join(f"w{i}\tv{i}\t{i}\n" for i in range(5000)).encode())
    sim = tmp_path / "sim.tsv.gz"
    sim.write_bytes(whole[: len(whole) // 2] if damage == "cut" else whole[:10] + b"x" * 500)
    with pytest.raises(ValueError, match="sim.tsv.gz is not a whole gzip file"):
        read_similarity_pairs(str(sim))


def test_analogy_file_lines_outside_a_section_or_not_four_words_are_malformed(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("a b c d\n: s1\na b c d\na b c\n\n: s2\nA B C D\n")
    analogy_set = read_analogies(str(path))
    assert analogy_set.questions == [("s1", "a", "b", "c", "d"), ("s2", "A", "B", "C", "D")]
    assert analogy_set.sections == ["s1", "s2"] and analogy_set.malformed == 2


def test_analogy_answer_is_never_one_of_the_question_words(tmp_path):
    words = ["a", "b", "c", "d", "e"]
    vectors = np.array([[1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0.3], [-1, 0, 0]], np.float32)
    path = tmp_path / "q.txt"
    path.write_text(": s\na b c d\n")  # b - a + c is nearest to c itself, then d
    result = evaluate_analogies(words, vectors, str(path))
    assert result["correct"] == 1


def test_case_sensitive_matching_skips_questions_in_another_case(tmp_path):
    words, vectors = _planted_offsets()
    questions = _write_questions(tmp_path / "q.txt")
    folded = evaluate_analogies(words, vectors, questions)
    exact = evaluate_analogies(words, vectors, questions, case_sensitive=True)
    assert folded["sections"][0]["questions"] == 150
    assert exact["sections"][0]["questions"] == 0


def test_nearest_neighbors_rank_by_cosine_and_name_unknown_words():
    words = ["x", "near", "far", "opposite"]
    vectors = np.array([[1, 0], [0.9, 0.2], [0, 1], [-1, 0]], dtype=np.float32)
    found, unknown = nearest_neighbors(words, vectors, ["x", "nope", "X"], topn=2)
    assert [w for w, _ in found["x"]] == ["near", "far"]
    assert found["x"][0][1] == pytest.approx(0.9 / np.hypot(0.9, 0.2), abs=1e-6)
    assert "X" in found and unknown == ["nope"]


def _clustered(clusters=3, size=6, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)) * 3
    words, rows, truth = [], [], []
    for c in range(clusters):
        members = [f"c{c}w{i}" for i in range(size)]
        truth.append(members)
        words += members
        rows.append(centres[c] + rng.standard_normal((size, dim)))
    words += [f"noise{i}" for i in range(10)]
    rows.append(rng.standard_normal((10, dim)))
    return words, np.vstack(rows).astype(np.float32), truth


def test_cluster_precision_is_one_for_separated_clusters_and_low_for_noise():
    words, vectors, clusters = _clustered()
    assert cluster_precision(words, vectors, clusters, k=10)["cluster_precision"] == 1.0
    noise = np.random.default_rng(5).standard_normal(vectors.shape)
    assert cluster_precision(words, noise, clusters, k=10)["cluster_precision"] < 0.5
    result = cluster_precision(words, vectors, clusters + [["c0w0", "unknown"]], k=3)
    assert result["oov_words"] == 1 and result["clusters"][3] is None


def test_cluster_similarity_is_high_on_the_diagonal_only():
    words, vectors, clusters = _clustered()
    similarity = cluster_similarity(words, vectors, clusters)
    assert similarity.shape == (3, 3)
    assert np.all(np.diag(similarity) > 0.7)
    assert np.all(similarity[~np.eye(3, dtype=bool)] < 0.5)


def test_evaluate_synthetic_reports_precision_and_planted_analogies():
    words, vectors = _planted_offsets(noise=0.1)
    truth = {
        "clusters": [words[:5], words[5:10]],
        "analogies": {"x": [["a1", "a1x", "a2", "a2x"], ["a3", "a3x", "a4", "a4x"]]},
    }
    result = evaluate_synthetic(words, vectors, truth, k=3)
    assert result["analogies"]["accuracy"] == 1.0 and result["analogies"]["questions"] == 2
    assert result["k"] == 3 and result["cluster_words"] == 10


def _run_dir(tmp_path, fmt="text"):
    words, vectors = _planted_offsets()
    run = tmp_path / "run"
    run.mkdir()
    write_vectors(str(run / "vectors.txt"), words, vectors, fmt)
    return str(run)


def test_cli_reads_a_run_directory_and_prints_json(tmp_path, capsys):
    run = _run_dir(tmp_path)
    questions = _write_questions(tmp_path / "q.txt")
    code = main([run, "--analogies", questions, "--neighbors", "a1,zzz", "--topn", "3", "--json"])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    assert result["words"] == 280 and result["analogies"][0]["questions"] == 300
    scores = [s for _, s in result["neighbors"]["a1"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert result["unknown_words"] == ["zzz"]
    assert "not in the vocabulary: zzz" in captured.err


def test_cli_prints_a_readable_table(tmp_path, capsys):
    run = _run_dir(tmp_path)
    questions = _write_questions(tmp_path / "q.txt")
    assert main([run, "--analogies", questions, "--neighbors", "a1"]) == 0
    out = capsys.readouterr().out
    assert "q.txt" in out and "first" in out and "nearest to a1:" in out


def test_npy_vectors_with_vocabulary_beside_them_are_read(tmp_path, capsys):
    words, vectors = _planted_offsets()
    path = str(tmp_path / "v.npy")
    write_vectors(path, words, vectors, "npy")
    assert main([path, "--neighbors", "a3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dim"] == 30


def _one_line_error(capsys, argv, expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sgns-eval: error: ") and expected in err[0]


def test_run_directory_without_vectors_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    _one_line_error(
        capsys,
        [str(tmp_path / "run")],
        "has no vectors.txt: the training did not finish or exported elsewhere; run sgns-export",
    )


def test_user_errors_are_one_line(tmp_path, capsys):
    run = _run_dir(tmp_path)
    _one_line_error(capsys, [run, "--similarity", "missing.tsv"], "missing.tsv")
    _one_line_error(capsys, [run, "--neighbors", "nope,nada"], "nope, nada")
    questions = _write_questions(tmp_path / "q.txt")
    assert main([run, "--neighbors", "nope", "--analogies", questions]) == 0  # other results
    assert capsys.readouterr().err.strip().endswith("sgns-eval: not in the vocabulary: nope")
    _one_line_error(capsys, [run, "--restrict-vocab", "0"], "--restrict-vocab")
    _one_line_error(capsys, [str(tmp_path / "absent.txt")], "absent.txt")


@pytest.mark.parametrize("given", [",", "", ",,"])
def test_neighbors_that_name_no_word_are_refused_not_an_empty_result(tmp_path, capsys, given):
    run = _run_dir(tmp_path)
    said = f"--neighbors {given!r} names no word: give words separated by commas"
    _one_line_error(capsys, [run, "--neighbors", given], said)
    _one_line_error(capsys, [run, "--neighbors", "a1", "--neighbors", given], said)
    assert main([run, "--neighbors", f"{given}a1"]) == 0  # (an empty item beside a word: fine)
    assert "nearest to a1:" in capsys.readouterr().out


def test_an_endless_line_is_one_malformed_line_read_in_bounded_memory(tmp_path):
    from procs import cli, one_line

    vectors = tmp_path / "v.txt"
    write_vectors(str(vectors), ["a", "b", "c", "d"], np.eye(4, dtype=np.float32))
    endless = b"a " * 32_000_000  # 64 MB without a newline: a split of it takes gigabytes
    sim, questions = tmp_path / "sim.tsv", tmp_path / "q.txt"
    sim.write_bytes(endless + b"\na\tb\t3\nc\td\t5\na\tc\t1\n")
    questions.write_bytes(b": s\n" + endless + b"\na b c d\n")
    pairs, analogies = read_similarity_pairs(str(sim)), read_analogies(str(questions))
    assert (len(pairs.pairs), pairs.malformed) == (3, 1)
    assert (len(analogies.questions), analogies.malformed) == (1, 1)
    for option, path in (("--similarity", sim), ("--analogies", questions)):
        code, err = cli("sgns.eval.cli", [str(vectors), option, str(path)],
                        memory_bytes=2**30)  # fmt: skip
        assert code == 0 and "Traceback" not in err, err[-2000:]
    sim.write_bytes(endless)  # nothing else: said with its one malformed line
    code, err = cli("sgns.eval.cli", [str(vectors), "--similarity", str(sim)], memory_bytes=2**30)
    assert code == 2 and "(1 malformed line)" in one_line(err, "sgns-eval")


def test_neighbors_of_a_topn_past_the_vocabulary_are_every_other_word_and_json(tmp_path, capsys):
    words = ["x", "near", "far", "opposite"]
    vectors = np.array([[1, 0], [0.9, 0.2], [0, 1], [-1, 0]], dtype=np.float32)
    for topn in (3, 4, 1000):  # (the word itself came last, at -inf)
        found, _ = nearest_neighbors(words, vectors, ["x"], topn=topn)
        assert [w for w, _ in found["x"]] == ["near", "far", "opposite"]
    path = str(tmp_path / "v.txt")
    write_vectors(path, words, vectors, "text")
    assert main([path, "--neighbors", "x,far", "--topn", "1000", "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert sorted(w for w, _ in result["neighbors"]["far"]) == ["near", "opposite", "x"]
    assert main([path, "--neighbors", "x", "--topn", "4"]) == 0
    assert "inf" not in capsys.readouterr().out


def test_cli_into_a_pipe_that_closes_ends_quietly_and_refuses_a_closed_stdout(tmp_path):
    """(issue 20, fourth probe F7) `sgns-eval ... | head -1` ended in a BrokenPipeError
    traceback; with stdout closed it said nothing and exited 0, the results lost."""
    import subprocess
    import sys

    run = _run_dir(tmp_path)
    words = ",".join(f"a{i}" for i in range(20))  # (some 190 KB of neighbors: past a pipe's 64)
    command = f"{sys.executable} -m sgns.eval {run} --neighbors {words} --topn 279"
    for tail, code, lines in (("| head -1", 0, 0), (">&-", 2, 1)):
        done = subprocess.run(["bash", "-o", "pipefail", "-c", f"{command} {tail}"],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        errors = [ln for ln in done.stderr.splitlines() if "sgns.eval.cli:" not in ln]
        assert done.returncode == code and len(errors) == lines, done.stderr[-2000:]
    assert errors[0] == "sgns-eval: error: stdout is closed: give the results a place to go " \
        "(sgns-eval VECTORS ... > results.txt)"  # fmt: skip
    assert done.stdout == ""
