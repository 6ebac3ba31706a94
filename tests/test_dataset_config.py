"""A dataset manifest's config (the pipeline's settings it was built with) is checked where the
manifest is validated, before any reader uses it: each setting of its kind and one of its choices,
in one line naming config.X ("the manifest is damaged"); a dataset older than a setting (it lacks
it) still loads. Today's limits of a setting (its range, passes x num_shards, npmi's threshold
range) are checked where the setting is used (--append and --watch, the phrase command), so that a
dataset made before a limit still trains. --append and the phrase command then never take a
damaged setting (a crash, or an option blamed that was never given)."""

import json
import os
import shutil
import sys

import pytest

from sgns import dataset
from sgns.dataset.shape import CONFIG, COUNT, NULLABLE, check_limits, past_limit
from sgns.errors import UsageError
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.local import main as build_local
from sgns.pipeline.phrases.__main__ import main as phrases_command
from sgns.pipeline.preprocess import main as preprocess

FAST = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
PHRASE_COMMAND = "python -m sgns.pipeline.phrases"
DAMAGED, PAST = "the manifest is damaged", "is outside what this sgns allows"


def _manifest(config: dict) -> dict:
    shard = {"path": dataset.shard_path(0, 0, 0, 1), "pairs": 5, "row_groups": 1}
    passes = [{"pass": 0, "pairs": 5, "tokens_kept": 10, "shards": [shard]}]
    return {
        "format": dataset.FORMAT, "schema_version": dataset.SCHEMA_VERSION,
        "vocab": {"file": dataset.VOCAB_FILE, "size": 2}, "config": config, "stats": {},
        "seed": 0, "increments": [{"index": 0, "stats": {"tokens": 10}, "passes": passes,
                                   "vocab_size": 2}],
    }  # fmt: skip


def _refused(config: dict) -> str:
    with pytest.raises(dataset.DamagedManifest) as caught:
        dataset.validate_manifest(_manifest(config), "d/manifest.json")
    return str(caught.value)


@pytest.mark.parametrize(
    "field, value",
    [("max_sentence_length", "x"), ("normalize", None), ("block_bytes", 1e15),
     ("tokenizer", "xx"), ("errors", 5), ("lowercase", "no"), ("lowercase", 1),
     ("encoding", "base64"), ("encoding", "nope"), ("sample", float("nan")), ("seed", -1),
     ("phrase_connectors", ""), ("phrase_growth", "all"), ("phrase_threshold", "0.6")],
)  # fmt: skip
def test_a_setting_of_another_kind_or_choice_is_a_damaged_manifest(field, value):
    said = _refused({field: value})
    assert said.startswith(f"d/manifest.json: config.{field} is ") and "manifest is damaged" in said


@pytest.mark.parametrize(
    "field, value",
    [("max_sentence_length", 0), ("block_bytes", 10**15), ("phrases", 11), ("max_vocab", 0)],
)
def test_a_setting_past_todays_limits_is_read_and_refused_only_where_it_is_used(field, value):
    manifest = _manifest({field: value})
    if field == "phrases":  # (rounds: a table too)
        manifest["phrases"] = {"file": dataset.PHRASES_FILE, "sha256": "0" * 64, "phrases": 0}
    dataset.validate_manifest(manifest, "d/manifest.json")  # (what a trainer reads: loads)
    assert past_limit({field: value}, [f for f in CONFIG if f != field]) is None
    with pytest.raises(UsageError) as refused:
        check_limits({field: value}, "d/manifest.json", [field], lambda name: f"fix {name}")
    said = str(refused.value)
    assert said.startswith(f"d/manifest.json: config.{field} {value} is outside what this sgns")
    assert said.endswith(f"fix {field}") and "damaged" not in said


def test_settings_a_run_refuses_together_are_refused_together_where_used():
    together = {"passes": 300, "num_shards": 300}
    dataset.validate_manifest(_manifest(together), "d/manifest.json")
    assert past_limit(together, CONFIG)[0] == "num_shards"
    assert past_limit(together, ["num_shards"]) is None  # (passes given: the run's own check)
    npmi = {"phrase_threshold": 5.0}  # npmi's: [-1, 1)
    dataset.validate_manifest(_manifest(npmi), "d/manifest.json")
    assert past_limit(npmi, CONFIG)[0] == "phrase_threshold"
    assert past_limit({"phrase_scorer": "word2phrase", **npmi}, CONFIG) is None


def test_every_setting_a_run_records_is_checked_and_within_the_bounds_a_run_accepts():
    config = PipelineConfig(("a.txt",), "out")
    recorded = config.to_json()
    assert set(recorded) == set(CONFIG)  # a new setting gets its check here too
    dataset.validate_manifest(_manifest(recorded), "d/manifest.json")
    assert past_limit(recorded, CONFIG) is None
    for field, (kind, allowed) in CONFIG.items():
        if not allowed or isinstance(allowed[0], str):
            continue
        low, high = allowed
        for value in (low - 1, high + 1) if high is not None else (low - 1,):
            if kind == COUNT and value < 0:  # (no count: not of its kind)
                assert f"config.{field}" in _refused({**recorded, field: value})
            else:
                assert past_limit({**recorded, field: value}, CONFIG)[0] == field
            with pytest.raises(UsageError):  # what a run would refuse as well
                PipelineConfig(**{**recorded, "inputs": ("a.txt",), field: value})


def test_a_dataset_older_than_its_settings_still_loads():
    dataset.validate_manifest(_manifest({}), "d/manifest.json")
    dataset.validate_manifest(_manifest({"window": 5, "min_count": 1}), "d/manifest.json")
    for field in NULLABLE:
        dataset.validate_manifest(_manifest({field: None}), "d/manifest.json")


@pytest.fixture(scope="module")
def phrased(tmp_path_factory):
    root = tmp_path_factory.mktemp("config")
    (root / "c.txt").write_text("new york is big\nthe new york times\nold york\n" * 20)
    (root / "more.txt").write_text("we saw new york again\n" * 5)
    argv = ["--input", str(root / "c.txt"), "--output", str(root / "d"), "--min-count", "1",
            "--phrases", "1", "--phrase-min-count", "2"]  # fmt: skip
    assert build_local(argv) == 0
    return root


def _one_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"{prog}: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    "field, value, said",
    [("max_sentence_length", "x", DAMAGED), ("normalize", None, DAMAGED),
     ("tokenizer", "xx", DAMAGED), ("errors", 5, DAMAGED), ("lowercase", "no", DAMAGED),
     ("max_sentence_length", 0, PAST), ("block_bytes", 10**15, PAST)],
)  # fmt: skip
def test_append_and_the_phrase_command_refuse_a_damaged_setting_naming_it(
    phrased, tmp_path, field, value, said, monkeypatch, capsys
):
    copy = tmp_path / "d"
    shutil.copytree(phrased / "d", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["config"][field] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    assert phrases_command([str(copy)]) == 2
    line = _one_line(capsys, PHRASE_COMMAND)
    assert f"config.{field}" in line and said in line, line
    assert f"--{field.replace('_', '-')} must" not in line, line  # (no option blamed)
    argv = ["--input", str(phrased / "more.txt"), "--output", str(copy), "--append", *FAST]
    assert preprocess(argv) == 2
    line = _one_line(capsys, "sgns-preprocess")
    assert f"config.{field}" in line and said in line, line
    assert f"--{field.replace('_', '-')} must" not in line, line
    if said == DAMAGED:  # (no option named at all)
        assert "--" not in line.split("error:")[1], line


def test_a_dataset_made_before_a_limit_trains_and_an_append_says_what_is_wrong(
    phrased, tmp_path, capsys, monkeypatch
):
    import logging

    # (an earlier command's log handler writes to a stream pytest has closed since: none here)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    from train_helpers import tiny_config

    from sgns.train.trainer import train

    copy = tmp_path / "d"
    argv = ["--input", str(phrased / "c.txt"), "--output", str(copy), "--min-count", "1",
            "--sample", "0", "--num-shards", "2"]  # fmt: skip
    assert build_local(argv) == 0
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["config"]["num_shards"] = 70000  # (a run's before the shard-file cap)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    train(tiny_config(str(copy), str(tmp_path / "run"), epochs=1))
    assert (tmp_path / "run" / "vectors.txt").is_file()
    argv = ["--input", str(phrased / "more.txt"), "--output", str(copy), "--append", *FAST]
    assert preprocess(argv) == 2
    line = _one_line(capsys, "sgns-preprocess")
    assert f"{copy}/manifest.json: config.num_shards 70000 is outside what this sgns allows" in line
    assert "at most 65,536 shard files" in line and line.endswith(
        "give --num-shards for this increment"
    )
    assert "damaged" not in line and "--num-shards must" not in line
    assert preprocess([*argv, "--num-shards", "2"]) == 0  # (this increment's own: taken)
    assert len(dataset.read_manifest(str(copy))["increments"]) == 2


@pytest.mark.parametrize("config_only", [True, False])
def test_overwrite_of_a_damaged_manifest_says_why_it_stops_truly(
    phrased, tmp_path, capsys, config_only
):
    copy = tmp_path / "d"
    shutil.copytree(phrased / "d", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    if config_only:
        manifest["config"]["lowercase"] = "no"
    else:
        manifest["increments"] = []
    (copy / "manifest.json").write_text(json.dumps(manifest))
    argv = ["--input", str(phrased / "more.txt"), "--output", str(copy), "--overwrite", *FAST]
    assert preprocess(argv) == 2
    line = _one_line(capsys, "sgns-preprocess")
    assert "the manifest is damaged" in line and f"remove {str(copy)!r}" in line, line
    tells = "cannot tell the dataset's files from others'" in line
    assert tells != config_only, line  # (a config's setting does not hide which files are its)
    if config_only:
        assert "--overwrite reads the old dataset's manifest whole" in line, line


def test_the_phrase_command_bounds_block_bytes_as_sgns_preprocess_does(
    phrased, monkeypatch, capsys
):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    for value, bound in (("1023", "at least 1024"), (str(10**15), f"at most {2**31 - 1}")):
        assert phrases_command([str(phrased / "d"), "--block-bytes", value]) == 2
        said = _one_line(capsys, PHRASE_COMMAND)
        assert f"--block-bytes must be {bound}, got {value}" in said
    argv = ["--input", "a.txt", "--output", "b", "--block-bytes", str(10**15)]
    assert preprocess(argv) == 2
    assert f"--block-bytes must be at most {2**31 - 1}" in _one_line(capsys, "sgns-preprocess")


def test_a_phrases_entry_without_config_phrases_says_the_setting_is_missing():
    """It said "config.phrases is 0" of a config without the key (fourth probe V2)."""
    manifest = _manifest({})
    manifest["phrases"] = {"file": dataset.PHRASES_FILE, "sha256": "0" * 64, "phrases": 1}
    with pytest.raises(dataset.DamagedManifest) as caught:
        dataset.validate_manifest(manifest, "d/manifest.json")
    said = str(caught.value)
    assert "config.phrases is not there (0 rounds) but it has a phrases entry" in said
    manifest["config"]["phrases"] = 0
    with pytest.raises(dataset.DamagedManifest, match="config.phrases is 0 but it has a phrases"):
        dataset.validate_manifest(manifest, "d/manifest.json")
