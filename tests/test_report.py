"""sgns-report: an HTML page with plots from a run directory, whatever is missing from it."""

import json
import os

import numpy as np
import pytest

from sgns.report.cli import main
from sgns.report.collect import ReportConfig, read_metrics, word_groups, write_report
from sgns.report.plots import pca_2d
from sgns.vectors import write_vectors

PNG = b"\x89PNG\r\n\x1a\n"


def _fake_run(tmp_path, metrics=True, vectors=True, config=True):
    run = tmp_path / "run"
    run.mkdir()
    words = [f"w{i}" for i in range(40)]
    if metrics:
        lines, pairs = [], 0
        for epoch in range(2):
            for step in range(epoch * 30, epoch * 30 + 30):
                pairs += 1000
                lines.append(
                    {
                        "kind": "step",
                        "step": step,
                        "epoch": epoch,
                        "pairs": pairs,
                        "loss": 3.0 - step / 40,
                        "lr": 0.025 * (1 - step / 60),
                        "pairs_per_s": 50000.0 + step,
                        "time": step / 10,
                    }
                )
            lines.append(
                {
                    "kind": "epoch",
                    "epoch": epoch,
                    "loss": 2.5 - epoch,
                    "pairs": pairs,
                    "seconds": 3.0,
                }
            )
        text = "".join(json.dumps(line) + "\n" for line in lines)
        (run / "metrics.jsonl").write_text(text + '{"kind": "step", "ste')  # torn last line
    if config:
        (run / "config.json").write_text(json.dumps({"window": 5, "negatives": 7, "lr": 0.025}))
    if vectors:
        rng = np.random.default_rng(0)
        write_vectors(str(run / "vectors.txt"), words, rng.standard_normal((40, 8)))
        (run / "vocab.tsv").write_text("".join(f"{w}\t{100 - i}\n" for i, w in enumerate(words)))
    return run


def _truth(tmp_path):
    path = tmp_path / "truth.json"
    clusters = [[f"w{i}" for i in range(c, 40, 4)] for c in range(3)]
    path.write_text(json.dumps({"clusters": clusters, "analogies": {}, "function_words": ["w3"]}))
    return path


def test_report_of_a_full_run_has_plots_config_and_evaluation(tmp_path):
    run = _fake_run(tmp_path)
    evaluation = {
        "vectors": str(run),
        "words": 40,
        "dim": 8,
        "similarity": [
            {
                "file": "ws353.tsv",
                "spearman": 0.6543,
                "pearson": 0.5,
                "pairs": 300,
                "oov_rate": 0.1,
                "malformed": 0,
            }
        ],
        "analogies": [
            {
                "file": "qw.txt",
                "accuracy": 0.4321,
                "correct": 4,
                "questions": 10,
                "oov_rate": 0.0,
                "malformed": 0,
                "restrict_vocab": 30000,
                "sections": [
                    {"section": "capitals", "correct": 4, "questions": 10, "accuracy": 0.4}
                ],
            }
        ],
    }
    (run / "eval.json").write_text(json.dumps(evaluation))
    path = write_report(ReportConfig(str(run), synth_truth=str(_truth(tmp_path))))
    html = (run / "report.html").read_text()
    assert path == str(run / "report.html")
    for png in ("report-training.png", "report-words.png", "report-clusters.png"):
        assert (run / png).read_bytes().startswith(PNG)
        assert f'href="{png}"' in html
    assert html.count("data:image/png;base64,") == 3
    assert "negatives" in html and "0.654" in html and "0.432" in html and "capitals" in html
    assert "1 line(s) of metrics.jsonl were not metrics" in html
    assert "1.5000" in html  # the last epoch's loss, on a summary card


def test_report_of_an_empty_run_says_what_is_missing(tmp_path):
    run = _fake_run(tmp_path, metrics=False, vectors=False, config=False)
    write_report(ReportConfig(str(run)))
    html = (run / "report.html").read_text()
    assert "No training metrics yet" in html
    assert "No evaluation" in html and "No vectors.txt" in html and "No config.json" in html
    assert not list(run.glob("*.png"))


def test_report_of_a_run_with_metrics_only_plots_the_training(tmp_path):
    run = _fake_run(tmp_path, vectors=False)
    write_report(ReportConfig(str(run), output=str(tmp_path / "out.html")))
    assert (tmp_path / "out-training.png").exists()
    html = (tmp_path / "out.html").read_text()
    assert "No vectors yet" in html and "no steps" not in html


def test_read_metrics_splits_steps_and_epochs_and_skips_what_is_not_metrics(tmp_path):
    run = _fake_run(tmp_path)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('\n{"kind": "step", "step": "x"}\n[1, 2]\n')
    steps, epochs, malformed = read_metrics(str(run / "metrics.jsonl"))
    assert len(steps) == 60 and len(epochs) == 2 and malformed == 3
    assert steps[-1]["pairs"] == 60_000 and epochs[1]["loss"] == 1.5


def test_word_groups_name_planted_clusters_and_function_words(tmp_path):
    truth = json.loads(_truth(tmp_path).read_text())
    groups = word_groups(["w0", "w1", "w3", "other"], truth)
    assert groups == ["cluster 0", "cluster 1", "function words", None]
    assert word_groups(["w0"], None) == [None]


def test_words_that_look_like_math_are_drawn_as_they_are(tmp_path):
    from sgns.report import plots

    words = ["$$", "$x^$", r"\frac", "plain", "$a$b", "x_{"]
    vectors = np.random.default_rng(0).normal(size=(len(words), 5)).astype(np.float32)
    path = str(tmp_path / "map.png")
    plots.plot_projection(words, vectors, [None] * len(words), path)
    assert os.path.getsize(path) > 0


def test_pca_2d_puts_the_widest_direction_on_the_first_axis():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((200, 5)) * [10, 1, 1, 1, 1]
    xy = pca_2d(points)
    assert xy.shape == (200, 2)
    assert np.corrcoef(xy[:, 0], points[:, 0])[0, 1] ** 2 > 0.95
    assert xy[:, 0].var() > 5 * xy[:, 1].var()


def test_cli_writes_the_report_and_prints_its_path(tmp_path, capsys):
    run = _fake_run(tmp_path)
    assert main([str(run), "--words", "20", "--labels", "5"]) == 0
    assert capsys.readouterr().out.strip() == str(run / "report.html")


@pytest.mark.parametrize(
    "extra, expected", [([], "does not exist"), (["--eval", "nope.json"], "nope.json")]
)
def test_cli_errors_are_one_line(tmp_path, capsys, extra, expected):
    run = str(tmp_path / "missing") if not extra else str(_fake_run(tmp_path))
    assert main([run, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sgns-report: error: ") and expected in err[0]


def test_a_users_file_beside_the_page_is_never_written_over(tmp_path, capsys):
    run = _fake_run(tmp_path)
    out = tmp_path / "u"
    out.mkdir()
    (out / "my-training.png").write_bytes(PNG + b"the user's own plot")
    code = main([str(run), "--output", str(out / "my.html")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("sgns-report: error: ") and "\n" not in err
    assert "my-training.png is in the way" in err
    assert sorted(p.name for p in out.iterdir()) == ["my-training.png"]  # nothing written
    assert (out / "my-training.png").read_bytes() == PNG + b"the user's own plot"
    (out / "my-training.png").unlink()
    assert main([str(run), "--output", str(out / "my.html")]) == 0
    first = (out / "my-training.png").read_bytes()
    assert main([str(run), "--output", str(out / "my.html")]) == 0  # its own plots: replaced
    assert (out / "my-training.png").read_bytes().startswith(PNG) and first


def test_the_page_names_the_run_lists_neighbours_and_only_the_options_that_applied(tmp_path):
    run = _fake_run(tmp_path)
    words = [f"w{i}" for i in range(40)]
    vectors = np.zeros((40, 8))
    vectors[np.arange(40), np.arange(40) % 8] = 1.0  # w0's nearest: w8, w16, w24, w32 (cosine 1)
    write_vectors(str(run / "vectors.txt"), words, vectors)
    config = {"negative_mode": "pair", "engine": "native", "pool_size": 50, "dim": 8,
              "emulate_ranks": 0, "follow": False, "poll_seconds": 10.0}  # fmt: skip
    (run / "config.json").write_text(json.dumps(config))
    write_report(ReportConfig(str(run)))
    html = (run / "report.html").read_text()
    assert "<title>Training report: run</title>" in html and "sgns run run" not in html
    assert "w8 1.00, w16 1.00, w24 1.00, w32 1.00" in html  # w0's row, in frequency order
    assert ">negative_mode<" in html and ">dim<" in html
    for left_out in ("pool_size", "emulate_ranks", "poll_seconds"):
        assert f">{left_out}<" not in html, left_out
    assert "3 option(s) that did not apply" in html


def test_plots_an_older_report_wrote_beside_its_page_are_replaced(tmp_path):
    import matplotlib.pyplot as plt

    run = _fake_run(tmp_path)
    write_report(ReportConfig(str(run)))
    fig = plt.figure()
    fig.savefig(run / "report-training.png")  # unmarked, as reports wrote them before
    plt.close(fig)
    assert main([str(run)]) == 0
    assert b"tEXtSoftware\x00sgns-report" in (run / "report-training.png").read_bytes()[:65536]
