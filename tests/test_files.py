"""One way to write a file atomically (sgns.files, sgns.pipeline.outputs): whole or not at all."""

import os
import stat

import numpy as np
import pytest

from sgns.files import TEMP_PREFIX, atomic_open, atomic_write
from sgns.pipeline.outputs import atomic_output, publish_file
from sgns.train.checkpoint import save_checkpoint
from sgns.vectors import write_vectors


def test_atomic_writes_create_files_as_open_would(tmp_path):
    # mkstemp makes 0600 files; a dataset or a run is often read by other users
    umask = os.umask(0o022)
    os.umask(umask)
    atomic_write(str(tmp_path / "f.txt"), b"x")
    save_checkpoint(str(tmp_path / "c.pt"), {"a": 1})
    with open(tmp_path / "plain", "w") as f:
        f.write("x")
    want = stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
    assert stat.S_IMODE(os.stat(tmp_path / "f.txt").st_mode) == want
    assert stat.S_IMODE(os.stat(tmp_path / "c.pt").st_mode) == want


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(str(path)) as f:
        f.write(b"half of the new")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]


def test_a_failed_vector_write_leaves_nothing(tmp_path):
    path = tmp_path / "vectors.txt"
    words = ["a", "b\udc80"]  # the second word cannot be encoded: the write fails half way
    with pytest.raises(UnicodeEncodeError):
        write_vectors(str(path), words, np.zeros((2, 3), dtype=np.float32))
    assert os.listdir(tmp_path) == []


def test_pipeline_outputs_make_folders_and_replace_whole(tmp_path):
    path = tmp_path / "a" / "b" / "shard.bin"
    with atomic_output(str(path), durable=False) as f:
        f.write(b"pairs")
        assert not path.exists()  # not before the block ends
    assert path.read_bytes() == b"pairs"
    publish_file(str(path), str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == b"pairs"
    assert not [n for n in os.listdir(path.parent) if n.startswith(TEMP_PREFIX)]
