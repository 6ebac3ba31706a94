"""The dataset contract: vocabulary file round trip, manifest validation, shard layout."""

import json
import os

import pytest

from sgns import dataset


def test_vocab_round_trips_words_that_splitlines_would_break():
    words = ["the", "caf\u00e9", "a\u2028b", "x\x1cy", "tab\u00a0nbsp"]
    counts = [10, 7, 3, 2, 1]
    data = dataset.format_vocab(words, counts)
    assert dataset.parse_vocab(data) == (words, counts)


def test_parse_vocab_names_the_bad_line():
    with pytest.raises(ValueError, match="line 2"):
        dataset.parse_vocab(b"the\t3\nbroken line\n")


def test_a_vocabulary_with_a_word_twice_or_a_line_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="v.tsv line 3 holds the word 'a' of line 1 again"):
        dataset.parse_vocab(b"a\t3\nb\t2\na\t1\n", "v.tsv")
    with pytest.raises(ValueError, match="v.tsv line 2 is not 'word<TAB>count'"):
        dataset.parse_vocab(b"a\t3\nb\t\t2\n", "v.tsv")  # (read as "b\t" before)


def test_vocab_fingerprint_changes_with_counts():
    a = dataset.vocab_fingerprint(["a", "b"], [2, 1])
    assert a == dataset.vocab_fingerprint(["a", "b"], [2, 1])
    assert a != dataset.vocab_fingerprint(["a", "b"], [3, 1])


def _manifest(**overrides):
    manifest = {
        "format": dataset.FORMAT,
        "schema_version": dataset.SCHEMA_VERSION,
        "vocab": {"file": dataset.VOCAB_FILE, "size": 2},
        "config": {},
        "stats": {},
        "seed": 0,
        "increments": [
            {
                "index": 0,
                "vocab_size": 2,
                "stats": {"files": 1, "lines": 1, "tokens": 10},
                "passes": [
                    {
                        "pass": p,
                        "pairs": 5,
                        "tokens_kept": 10,
                        "shards": [
                            {"path": dataset.shard_path(0, p, 0, 1), "pairs": 5, "row_groups": 1}
                        ],
                    }
                    for p in range(2)
                ],
            }
        ],
    }
    manifest.update(overrides)
    return manifest


def test_directory_without_manifest_is_not_a_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        dataset.read_manifest(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dataset.read_manifest(str(tmp_path / "missing"))


def test_manifest_with_another_schema_version_is_refused(tmp_path):
    dataset.write_manifest_local(str(tmp_path), _manifest(schema_version=99))
    with pytest.raises(ValueError, match="schema_version 99"):
        dataset.read_manifest(str(tmp_path))


def test_manifest_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    dataset.write_manifest_local(str(tmp_path), _manifest())
    assert os.listdir(tmp_path) == [dataset.MANIFEST_FILE]
    assert json.loads((tmp_path / dataset.MANIFEST_FILE).read_text())["format"] == dataset.FORMAT
    assert dataset.read_manifest(str(tmp_path))["vocab"]["size"] == 2


def test_epochs_cycle_through_passes(tmp_path):
    manifest = _manifest()
    paths = [dataset.pass_shards(str(tmp_path), manifest, e)[0].path for e in range(4)]
    assert paths[0] == paths[2] != paths[1] == paths[3]
    assert "pass-00001" in paths[1]


@pytest.mark.parametrize("bad", ["../victim.txt", "/etc/x", "pairs/../../x", "s3://b/k", "./v"])
@pytest.mark.parametrize("field", ["vocab.file", "vocab.snapshot", "counts.file", "shard"])
def test_a_path_a_manifest_names_outside_the_dataset_is_refused_naming_both(tmp_path, field, bad):
    manifest = _manifest(counts={"file": dataset.COUNTS_FILE})
    if field == "shard":
        manifest["increments"][0]["passes"][1]["shards"][0]["path"] = bad
    else:
        key, name = field.split(".")
        manifest[key][name] = bad
    dataset.write_manifest_local(str(tmp_path), manifest)
    with pytest.raises(ValueError) as refused:
        dataset.read_manifest(str(tmp_path))
    assert str(tmp_path / dataset.MANIFEST_FILE) in str(refused.value)
    assert repr(bad) in str(refused.value) and "inside the dataset" in str(refused.value)


@pytest.mark.parametrize("directory", ["/data/d", "s3://bucket/d?region=x"])
def test_a_reader_given_an_unchecked_manifest_reads_no_shard_outside_the_dataset(directory):
    manifest = _manifest()
    manifest["increments"][0]["passes"][0]["shards"][0]["path"] = "../other/shard.parquet"
    with pytest.raises(ValueError, match="'../other/shard.parquet'"):
        dataset.pass_shards(directory, manifest, 0)
    manifest["vocab"]["snapshot"] = "/victim.txt"
    with pytest.raises(ValueError, match="'/victim.txt'"):
        dataset.read_manifest_vocab(directory, manifest)


@pytest.mark.parametrize(
    "damage,said",
    [
        (lambda m: m.update(increments={"0": {}}), "increments is dict, not a list"),
        (lambda m: m["increments"][0].update(passes=None), "increment 0's passes"),
        (lambda m: m["increments"][0]["passes"][1]["shards"][0].pop("path"), "lacks its path"),
        (lambda m: m["increments"][0]["passes"][0]["shards"][0].pop("pairs"), "lacks its pairs"),
        # issue 20, fourth probe: any field of another kind, and anything listed twice
        (lambda m: m.update(counts=[1, 2]), "counts is list, not an object"),
        (lambda m: m.update(config=None), "config is null, not an object"),
        (lambda m: m.update(stats="x"), "stats is 'x', not an object"),
        (lambda m: m["vocab"].update(size=-1), "vocab's size is -1, not a count"),
        (lambda m: m["vocab"].update(size=True), "vocab's size is true, not a count"),
        (lambda m: m.update(increments=[]), "increments is empty"),
        (lambda m: m["increments"][0]["stats"].update(tokens=1.5), "stats.tokens is 1.5"),
        (
            lambda m: m["increments"][0].update(inputs=[3]),
            "an input of increment 0 is 3, not an object",
        ),
        (lambda m: m["increments"][0].update(passes=[]), "increment 0 has no passes"),
        (lambda m: m["increments"].append(m["increments"][0]), "has the index 0, not 1"),
        (lambda m: m["increments"][0]["passes"].reverse(), "pass 0 has the number 1"),
        (
            lambda m: m["increments"][0]["passes"][1]["shards"].append(
                m["increments"][0]["passes"][1]["shards"][0]
            ),
            "is listed twice",
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_refused_in_one_line(tmp_path, damage, said):
    manifest = _manifest()
    damage(manifest)
    dataset.write_manifest_local(str(tmp_path), manifest)
    with pytest.raises(ValueError, match=said):
        dataset.read_manifest(str(tmp_path))


@pytest.mark.parametrize("link", ["increment", "shard"])
def test_two_shard_paths_that_are_one_file_through_a_link_are_a_damaged_manifest(tmp_path, link):
    """An increment folder linked to another inside the dataset, listed as a second increment:
    its pairs were trained twice (fourth probe F11); a shard file linked to another alike."""
    manifest = _manifest()
    for p in range(2):
        path = tmp_path / dataset.shard_path(0, p, 0, 1)
        path.parent.mkdir(parents=True)
        path.write_bytes(b"PAR1")
    again = json.loads(json.dumps(manifest["increments"][0]))
    again["index"] = 1
    for p, listed in enumerate(again["passes"]):
        listed["shards"][0]["path"] = dataset.shard_path(1, p, 0, 1)
    manifest["increments"].append(again)
    if link == "increment":
        os.symlink("inc-00000", tmp_path / "pairs" / "inc-00001")
    else:
        for p in range(2):
            (tmp_path / dataset.shard_path(1, p, 0, 1)).parent.mkdir(parents=True)
            os.symlink(
                tmp_path / dataset.shard_path(0, p, 0, 1), tmp_path / dataset.shard_path(1, p, 0, 1)
            )
    dataset.write_manifest_local(str(tmp_path), manifest)
    with pytest.raises(ValueError) as refused:
        dataset.read_manifest(str(tmp_path))
    said = str(refused.value)
    first, second = dataset.shard_path(0, 0, 0, 1), dataset.shard_path(1, 0, 0, 1)
    assert f"the shards {first!r} and {second!r} are one file" in said
    assert said.startswith(str(tmp_path / dataset.MANIFEST_FILE))
    assert "the manifest is damaged" in said


@pytest.mark.parametrize(
    "damage,said",
    [
        (lambda m: m.pop("seed"), "the manifest lacks its seed"),
        (lambda m: m["increments"][0].pop("vocab_size"), "increment 0 lacks its vocab_size"),
    ],
)
def test_a_manifest_without_its_seed_or_an_increments_vocab_size_is_damaged(tmp_path, damage, said):
    """Every sgns wrote both; --append read seed and --resume vocab_size: a KeyError after the
    whole pipeline ran (fourth probe F5)."""
    manifest = _manifest()
    damage(manifest)
    dataset.write_manifest_local(str(tmp_path), manifest)
    with pytest.raises(dataset.DamagedManifest) as refused:
        dataset.read_manifest(str(tmp_path))
    assert said in str(refused.value) and "the manifest is damaged" in str(refused.value)
