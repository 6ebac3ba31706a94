"""One way to write a file atomically (sgns.files, the pipeline's outputs): whole or not at all."""

import os
import stat

import numpy as np
import pytest

from sgns.files import TEMP_PREFIX, atomic_open, atomic_write, resolved_path
from sgns.pipeline.dataset.outputs import atomic_output, publish_file
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

    class Unwritable(str):  # (a word no UTF-8 holds is refused before the write begins)
        def encode(self, *args):
            raise OSError(28, "No space left on device")

    words = ["a", Unwritable("b")]  # the second word's bytes fail: the write fails half way
    with pytest.raises(OSError, match="No space left"):
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


def test_an_atomic_write_refuses_a_fifo_a_socket_or_a_link_to_a_device(tmp_path):
    import socket

    from sgns.errors import UsageError

    os.mkfifo(tmp_path / "fifo")
    os.symlink("/dev/null", tmp_path / "null")  # (the rename replaced /dev/null itself, as root)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        for name, kind in [("fifo", r"a FIFO \(named pipe\)"), ("null", "a character device"),
                           ("sock", "a socket")]:  # fmt: skip
            with pytest.raises(UsageError, match=f"{name} is {kind}, not a file"):
                atomic_write(str(tmp_path / name), b"vectors")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    assert os.readlink(tmp_path / "null") == "/dev/null"
    assert stat.S_ISSOCK(os.lstat(tmp_path / "sock").st_mode)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(TEMP_PREFIX)]


def test_a_lock_is_taken_when_a_failed_run_removes_the_folder_under_it(tmp_path, monkeypatch):
    from sgns.files import DirectoryLock

    folder = tmp_path / "out"
    lock = DirectoryLock(str(folder), "sgns-preprocess")
    opened = os.open

    def folder_removed_first(path, *args, **kwargs):  # between makedirs and open, once
        if path == lock.path and not removed:
            removed.append(path)
            os.rmdir(folder)  # as a failed run's DatasetLock removes the folder it made
        return opened(path, *args, **kwargs)

    removed = []
    monkeypatch.setattr(os, "open", folder_removed_first)
    with lock:
        assert removed and (folder / ".lock").is_file()


def test_a_lock_in_a_folder_that_keeps_being_removed_is_an_error_not_a_loop(tmp_path, monkeypatch):
    from sgns.files import DirectoryLock

    folder = tmp_path / "out"
    lock = DirectoryLock(str(folder), "sgns-preprocess")
    opened, removed = os.open, []

    def folder_removed_each_time(path, *args, **kwargs):
        if path == lock.path:
            removed.append(path)
            assert len(removed) < 100, "it tried without end"
            os.rmdir(folder)
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", folder_removed_each_time)
    with pytest.raises(FileNotFoundError):
        lock.take()
    assert len(removed) <= 10 and lock.fd is None


def test_a_write_through_a_link_and_dotdot_goes_where_the_link_leads(tmp_path, monkeypatch):
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere" / "sub").mkdir()  # "link/../sub": there, not in tmp_path
    os.symlink(tmp_path / "elsewhere" / "deep", tmp_path / "link")
    monkeypatch.chdir(tmp_path)
    atomic_write("link/../sub/f.txt", b"x")
    with atomic_output("link/../made/g.txt") as f:
        f.write(b"y")
    assert (tmp_path / "elsewhere" / "sub" / "f.txt").read_bytes() == b"x"
    assert (tmp_path / "elsewhere" / "made" / "g.txt").read_bytes() == b"y"
    assert sorted(os.listdir(tmp_path)) == ["elsewhere", "link"]
    assert sorted(os.listdir(tmp_path / "elsewhere" / "sub")) == ["f.txt"]  # no temporary left


def test_a_resolved_folder_is_tidied_as_abspath_tidies_it(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    monkeypatch.chdir(tmp_path / "d")
    real = os.path.realpath(tmp_path)
    assert resolved_path(".") == os.path.join(real, "d")
    assert resolved_path("..") == real
    assert resolved_path(str(tmp_path / "d") + os.sep) == os.path.join(real, "d")
    assert resolved_path("x.txt") == os.path.join(real, "d", "x.txt")


def test_signals_held_wait_until_the_block_ends_and_are_then_taken():
    import signal

    from sgns.files import SignalsHeld

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with SignalsHeld() as held:
            signal.raise_signal(signal.SIGINT)  # before hold(): as ever
    with pytest.raises(KeyboardInterrupt):
        with SignalsHeld() as held:
            held.hold()
            signal.raise_signal(signal.SIGINT)
            steps.append("went on")  # not stopped here
    assert steps == ["went on"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_lock_whose_folder_was_made_again_is_lost_and_taken_again_never_removed_from_another(
    tmp_path,
):
    import shutil

    from sgns.errors import UsageError
    from sgns.files import DirectoryLock

    folder = str(tmp_path / "d")
    first = DirectoryLock(folder, "sgns-preprocess").take()
    assert not first.lost()
    shutil.rmtree(folder)  # the folder and its lock file go; `first` still holds the old file
    assert first.lost()
    os.makedirs(folder)
    second = DirectoryLock(folder, "sgns-preprocess").take()  # nothing stops a second writer,
    first.release()  # ... so `first` must not remove the lock file that is now second's
    assert os.path.exists(os.path.join(folder, ".lock"))
    with pytest.raises(UsageError, match="is writing"):
        DirectoryLock(folder, "sgns-preprocess").take()
    second.release()
    shutil.rmtree(folder)
    os.makedirs(folder)
    third = DirectoryLock(folder, "sgns-preprocess").take()
    shutil.rmtree(folder)
    third.take()  # taken again, on what is there now: a second writer is refused
    assert not third.lost()
    with pytest.raises(UsageError, match="is writing"):
        DirectoryLock(folder, "sgns-preprocess").take()
    third.release()
    assert not os.path.exists(os.path.join(folder, ".lock"))


def test_a_lock_held_and_not_lost_is_kept_when_taken_again_never_let_go(tmp_path):
    from sgns.files import DirectoryLock

    lock = DirectoryLock(str(tmp_path / "d"), "sgns-preprocess").take()
    held = os.open(lock.path, os.O_RDONLY)  # (keeps the file's inode from being reused)
    try:
        assert lock.take() is lock and not lock.lost()
        assert os.stat(lock.path).st_ino == os.fstat(held).st_ino  # the same file: not let go
    finally:
        os.close(held)
        lock.release()


def test_a_lock_file_on_another_device_with_the_same_inode_is_not_the_one_held(
    tmp_path, monkeypatch
):
    from sgns.files import DirectoryLock

    lock = DirectoryLock(str(tmp_path / "d"), "sgns-preprocess").take()
    stat_of = os.stat

    def elsewhere(path, *args, **kwargs):  # the path now on another device, same inode number
        found = stat_of(path, *args, **kwargs)
        if os.fspath(path) != lock.path:
            return found
        fields = list(found)
        fields[stat.ST_DEV] += 1
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", elsewhere)
    assert lock.lost()
    monkeypatch.undo()
    lock.release()
