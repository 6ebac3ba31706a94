"""What a command meets in its environment besides its arguments: the native kernel's cache
folder and $CC (sgns/train/native/build.py), torchrun's variables (sgns.console.environment), a
stderr that is closed or cannot be written (sgns.console.streams), words after `--`, and
`--version` (sgns.commands)."""

import errno
import grp
import os
import pwd
import re
import stat
import subprocess
import sys

import pytest
from procs import ROOT

import sgns
from sgns import commands
from sgns.console import environment
from sgns.errors import UsageError
from sgns.train.native import build, private

needs_native = pytest.mark.skipif(
    not build.available(), reason="no C compiler: the native engine cannot be built here"
)
LOAD = (
    "import logging; logging.basicConfig(level=logging.INFO)\n"
    "from sgns.train.native import build\n"
    "lib = build.load(); lib.sgns_batch; print(lib._name)\n"
)


def _load(cache, tmpdir=None, **variables) -> subprocess.CompletedProcess:
    """build.load() in a child process (a library it loads stays loaded: not in this one);
    `cache` None: SGNS_CACHE unset (the kernel cache of the home folder)."""
    tmpdir = tmpdir or os.path.join(os.path.dirname(cache), "tmp")  # (not the machine's)
    os.makedirs(tmpdir, exist_ok=True)
    env = dict(os.environ, SGNS_CACHE=str(cache), TMPDIR=str(tmpdir), PYTHONPATH=ROOT)
    if cache is None:
        del env["SGNS_CACHE"]
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=300
    )


def _library(path, source: str) -> None:
    """A shared library at `path` compiled from C `source`."""
    c_file = f"{path}.c"
    with open(c_file, "w") as f:
        f.write(source)
    done = subprocess.run([*build._compiler(), "-shared", "-fPIC", "-o", str(path), c_file],
                          capture_output=True, text=True)  # fmt: skip
    os.unlink(c_file)
    assert done.returncode == 0, done.stderr


def _planted(path, marker) -> None:
    """Another user's library under the kernel's name: its constructor leaves `marker`."""
    _library(path, '#include <stdio.h>\n__attribute__((constructor)) static void planted(void) '
             f'{{ FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')  # fmt: skip


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """The cached kernel's file name on this machine (its key: sources, flags, compiler, CPU)."""
    done = _load(tmp_path_factory.mktemp("first") / "cache")
    assert done.returncode == 0, done.stderr[-2000:]
    return os.path.basename(done.stdout.strip())


@pytest.fixture(params=[0o002, 0o022], ids=["umask 002", "umask 022"])
def umask(request):
    """The umask of the test and the commands it starts: 002 makes folders 775 (Fedora, RHEL,
    Debian's and Ubuntu's user private groups), 022 755."""
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _as_root() -> None:
    if os.getuid() != 0:
        pytest.skip("only root can give a file or folder to another user or group")


def _another_group(path) -> None:
    """Give `path` to a group that is not this user's private one, which may write it."""
    _as_root()
    others = (g.gr_gid for g in grp.getgrall() if not private.private_group(g.gr_gid))
    os.chown(path, -1, next(others))
    os.chmod(path, 0o770)


# how a folder of this user's is another user's to write into
UNSAFE = {
    "others can write it": lambda d: os.chmod(d, 0o777),
    "another group can write it": _another_group,
}


@needs_native
@pytest.mark.parametrize("unsafe", sorted(UNSAFE))
def test_a_cache_folder_of_this_users_that_others_can_write_is_made_private(
    tmp_path, kernel_name, unsafe
):
    cache = tmp_path / "cache"
    cache.mkdir()
    marker = tmp_path / "PLANTED_RAN"
    if os.getuid() == 0:  # another user's library under the kernel's name (only root gives one)
        _planted(cache / kernel_name, marker)
        os.chown(cache / kernel_name, 4242, -1)
    UNSAFE[unsafe](cache)
    done = _load(cache)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists(), "a library another user could plant was loaded"
    assert done.stdout.strip() == str(cache / kernel_name)  # (was: refused, every run)
    assert _mode(cache) == 0o700 and f"the kernel cache {cache} could be written" in done.stderr


@needs_native
def test_a_kernel_cache_of_another_user_is_never_loaded_from(tmp_path, kernel_name):
    _as_root()
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    marker = tmp_path / "PLANTED_RAN"
    _planted(cache / kernel_name, marker)
    os.chown(cache, 4242, -1)
    done = _load(cache)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists(), "a library another user could plant was loaded"
    assert not done.stdout.strip().startswith(str(cache)), done.stdout
    assert f"the kernel cache {cache} belongs to uid 4242" in done.stderr
    assert "SGNS_CACHE" in done.stderr and _mode(cache) == 0o755


def _another_users(folder) -> None:
    _as_root()
    os.chown(folder, 4242, -1)


def _a_link_to(folder) -> None:
    """`folder` moved aside and a link to it left in its place."""
    os.rename(folder, f"{folder}-real")
    os.symlink(f"{folder}-real", folder)


@needs_native
@pytest.mark.parametrize("planted_as", [_another_users, _a_link_to])
def test_the_temp_directory_fallback_is_checked_as_the_cache_is(tmp_path, kernel_name, planted_as):
    # P5 N7: ~/.cache not writable, so the kernel came from $TMPDIR/sgns-UID, whoever made it
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    tmpdir = tmp_path / "tmp"
    planted = tmpdir / f"sgns-{os.getuid()}"
    planted.mkdir(parents=True)
    marker = tmp_path / "PLANTED_RAN"
    _planted(planted / kernel_name, marker)
    planted_as(planted)
    done = _load(blocker / "cache", tmpdir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists(), "the library planted in the temp directory was loaded"
    assert not os.path.exists(done.stdout.strip())  # a fresh folder's, removed once loaded


@needs_native
def test_a_link_or_a_folder_others_can_write_above_it_is_refused(tmp_path, kernel_name):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    marker = tmp_path / "PLANTED_RAN"
    _planted(private / kernel_name, marker)
    (tmp_path / "link").symlink_to(private)
    done = _load(tmp_path / "link")
    assert done.returncode == 0 and not marker.exists(), done.stderr[-2000:]
    assert "is a symbolic link" in done.stderr
    above = tmp_path / "open"
    (above / "cache").mkdir(parents=True, mode=0o700)
    _planted(above / "cache" / kernel_name, marker)
    above.chmod(0o777)  # anyone may rename cache/ and put their own in its place
    done = _load(above / "cache", tmp_path / "tmp")
    assert done.returncode == 0 and not marker.exists(), done.stderr[-2000:]
    assert f"is inside {above}, which others can write" in done.stderr


@needs_native
def test_a_new_cache_folder_is_private_and_a_sticky_one_above_is_fine(tmp_path, umask):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp: others may write, but not rename what is this user's
    done = _load(shared / "me" / "cache", tmp_path / "tmp")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith(str(shared / "me" / "cache"))
    assert _mode(shared / "me") == _mode(shared / "me" / "cache") == 0o700  # (was: me/ 775)
    again = _load(shared / "me" / "cache", tmp_path / "tmp")
    assert again.stdout == done.stdout and "compiling" not in again.stderr, again.stderr[-2000:]


@needs_native
def test_a_folder_its_group_can_write_is_fine_when_the_group_is_this_users_own(tmp_path, umask):
    user = pwd.getpwuid(os.getuid())
    gid, group = user.pw_gid, grp.getgrgid(user.pw_gid)
    alone = all(u.pw_uid == user.pw_uid for u in pwd.getpwall() if u.pw_gid == gid)
    if group.gr_name != user.pw_name or set(group.gr_mem) - {user.pw_name} or not alone:
        pytest.skip("this user's group is not a private one here")  # (as Debian's ssh tells)
    above = tmp_path / "mine"
    (above / "cache").mkdir(parents=True)
    for folder in (above, above / "cache"):  # (as umask 002 makes them, with such a group)
        os.chown(folder, -1, gid)
        folder.chmod(0o775)
    done = _load(above / "cache", tmp_path / "tmp")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith(str(above / "cache")), done.stderr[-2000:]
    assert _mode(above / "cache") == 0o775 and "could be written" not in done.stderr
    _another_group(above)
    done = _load(above / "cache", tmp_path / "tmp")
    assert not done.stdout.strip().startswith(str(above / "cache"))
    assert f"is inside {above}, which others can write" in done.stderr


@needs_native
def test_a_fresh_folder_is_used_when_the_temp_directory_is_in_one_others_can_write(tmp_path, umask):
    blocker = tmp_path / "not-a-directory"  # (no cache folder: the temp directory's is tried)
    blocker.write_text("")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    done = _load(blocker / "cache", shared / "tmp")
    assert done.returncode == 0, done.stderr[-2000:]  # (was: the tensor step, silently)
    assert f"is inside {shared}, which others can write" in done.stderr  # $TMPDIR/sgns-UID
    loaded = done.stdout.strip()
    assert loaded.startswith(str(shared / "tmp" / "sgns-kernel-")), loaded
    assert not os.path.exists(loaded)  # removed once loaded


@needs_native
def test_folders_above_the_home_folder_are_not_checked(tmp_path, umask):
    lab = tmp_path / "lab"  # (as a /home/lab of a group's, which others can write)
    home = lab / "me"
    home.mkdir(parents=True, mode=0o700)
    lab.chmod(0o777)
    done = _load(None, tmp_path / "tmp", HOME=str(home))
    cache = home / ".cache" / "sgns"
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().startswith(str(cache)), done.stderr[-2000:]
    assert _mode(home / ".cache") == _mode(cache) == 0o700
    done = _load(cache, tmp_path / "tmp")  # the same folder, not under this home: checked
    assert f"is inside {lab}, which others can write" in done.stderr


FAILING_CC = """#!/bin/sh
[ "$1" = --version ] && { echo "failing cc 1.0"; exit 0; }
echo compiled >> "{calls}"
echo "{said}" >&2
exit 1
"""


@pytest.mark.parametrize("said, folders", [("error: unknown argument", 1),
                                           (os.strerror(errno.ENOSPC), 3)])  # fmt: skip
def test_a_compile_that_fails_is_not_tried_again_in_another_folder(tmp_path, said, folders):
    """(review of FH's N7) a compile error was tried in the cache, the temp directory's folder
    and a fresh one: three times per flag set; a full disk is the folder's, tried elsewhere."""
    cc, calls = tmp_path / "cc", tmp_path / "calls"
    cc.write_text(FAILING_CC.replace("{calls}", str(calls)).replace("{said}", said))
    cc.chmod(0o755)
    done = _load(tmp_path / "cache", CC=str(cc))
    assert done.returncode == 1 and "NativeUnavailable" in done.stderr, done.stderr[-2000:]
    assert said in done.stderr
    assert calls.read_text().count("compiled") == folders * len(build._FLAG_SETS)


@needs_native
def test_a_cached_file_others_can_write_is_compiled_again(tmp_path, kernel_name):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)  # (as sgns made it before: private enough, but for its files)
    marker = tmp_path / "PLANTED_RAN"
    _planted(cache / kernel_name, marker)
    (cache / kernel_name).chmod(0o666)
    done = _load(cache)
    assert done.returncode == 0 and not marker.exists(), done.stderr[-2000:]
    assert done.stdout.strip() == str(cache / kernel_name)  # compiled there again
    assert stat.S_IMODE(os.stat(cache / kernel_name).st_mode) & 0o022 == 0


@needs_native
def test_a_cached_library_that_is_not_the_kernel_is_compiled_again(tmp_path, kernel_name):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    _library(cache / kernel_name, "int unrelated(void) { return 1; }\n")  # whole, but no kernel
    done = _load(cache)
    assert done.returncode == 0, done.stderr[-2000:]  # (was AttributeError: sgns_batch)
    assert done.stdout.strip() == str(cache / kernel_name)
    assert "the cached one does not load" in done.stderr
    assert _load(cache).stderr.count("compiling") == 0  # the kernel is there now


@needs_native
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_cc_is_no_cc(monkeypatch, tmp_path, blank):
    monkeypatch.delenv("CC", raising=False)
    default = build._compiler()
    monkeypatch.setenv("CC", blank)
    assert build._compiler() == default  # (was IndexError: every training on the native engine)
    monkeypatch.setenv("SGNS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "_loaded", {})
    assert build.available()


def test_a_cc_that_is_no_command_is_said_with_cc(monkeypatch):
    monkeypatch.setenv("CC", 'gcc "-O2')
    with pytest.raises(build.NativeUnavailable, match=r"CC='gcc \"-O2' is no command"):
        build._compiler()


@pytest.mark.parametrize(
    "variables, said",
    [
        ({"WORLD_SIZE": ""}, "WORLD_SIZE='' in the environment is no whole number"),
        ({"WORLD_SIZE": "x"}, "WORLD_SIZE='x' in the environment is no whole number"),
        ({"RANK": "two"}, "RANK='two' in the environment is no whole number"),
        ({"LOCAL_RANK": "-1"}, "LOCAL_RANK='-1' in the environment is no whole number"),
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0 in the environment: a run has at least one"),
        ({"RANK": "1"}, "RANK=1 in the environment is not below WORLD_SIZE (unset: 1)"),
        ({"RANK": "4", "WORLD_SIZE": "4"}, "RANK=4 in the environment is not below WORLD_SIZE=4"),
    ],
)
def test_torchruns_variables_set_wrong_are_one_line_naming_them(variables, said):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    for prog in ("sgns-train", "sgns-eval"):  # (RANK=1 silenced the line of every error)
        code = f"import sys; from sgns.commands import run; sys.exit(run({prog!r}, 'no_module'))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**env, **variables, "PYTHONPATH": ROOT})  # fmt: skip
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.startswith(f"{prog}: error: {said}"), done.stderr
        assert done.stderr.count("\n") == 1 and "torchrun" in done.stderr


def test_the_trainers_process_group_reads_the_same_checked_variables(monkeypatch):
    from sgns.train import distributed

    monkeypatch.setenv("WORLD_SIZE", "x")
    with pytest.raises(UsageError, match="WORLD_SIZE='x'"):
        distributed.setup("cpu")
    monkeypatch.setenv("WORLD_SIZE", " 1 ")  # (as a shell may leave it)
    monkeypatch.delenv("RANK", raising=False)
    assert environment.ranks() == environment.Ranks(0, 0, 1)


VECTORS = "3 2\nw0 0.1 0.2\nw1 0.2 0.1\nw2 -0.3 0.4\n"


# a stderr that takes nothing: (how the child is started, what its stderr is)
STDERRS = {
    "closed (2>&-)": {"close": True},  # (closed by the child itself: no preexec_fn with threads)
    "a file open for reading (a launcher's)": {"stderr": "read-only"},
    "a full disk (2>/dev/full)": {"stderr": "/dev/full"},
}


@pytest.mark.parametrize("kind", sorted(STDERRS))
@pytest.mark.parametrize(
    "args, code, out",
    [
        (["nothere.txt"], 2, ""),  # a user's mistake: exit 2, never the line on stdout
        (["--neighborz", "w0"], 2, ""),  # argparse's mistake too
        (["VECTORS", "--neighbors", "zzz,w0", "--topn", "1"], 0, "w1"),  # a note: still 0
    ],
)
def test_a_stderr_that_takes_nothing_changes_no_exit_code(tmp_path, kind, args, code, out):
    (tmp_path / "v.txt").write_text(VECTORS)
    args = [str(tmp_path / "v.txt") if a == "VECTORS" else a for a in args]
    how = dict(STDERRS[kind])
    if how.get("stderr") == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    if how.get("stderr") == "read-only":
        (tmp_path / "launcher").write_text("#!/bin/sh\n")
        how["stderr"] = str(tmp_path / "launcher")
    with open(how.pop("stderr", os.devnull), "rb" if "read" in kind else "wb") as stderr:
        code_run = "import sys; from sgns.commands import run; sys.exit(run('sgns-eval', "
        if how.pop("close", False):  # fd 2 closed before anything of sgns runs, as 2>&- does
            code_run = "import os; os.close(2); " + code_run
        done = subprocess.run(
            [sys.executable, "-c", code_run + "'sgns.eval.cli'))", *args],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=tmp_path,
            env=dict(os.environ, PYTHONPATH=ROOT), timeout=300, **how,
        )  # fmt: skip
    assert done.returncode == code, done.stdout[-2000:]
    assert "error" not in done.stdout and "not in the vocabulary" not in done.stdout
    assert out in done.stdout


@pytest.mark.parametrize(
    "args, said",
    [
        (["--", "-v.txt", "--neighbors", "w0"], "unrecognized arguments: --neighbors w0 (after"),
        (["v.txt", "--neighbors", "w0", "--", "--neighbors"], "unrecognized arguments: --nei"),
        (["--", "v.txt", "-x.txt"], "unrecognized arguments: -x.txt (after --, every word"),
    ],
)
def test_an_option_after_double_dash_is_said_to_go_before_it(capsys, args, said):
    from sgns.eval.cli import parse_args

    with pytest.raises(SystemExit) as stopped:
        parse_args(args)
    line = capsys.readouterr().err
    assert stopped.value.code == 2 and said in line, line
    assert "did you mean" not in line and "give options before --" in line


def test_a_required_option_after_double_dash_is_said_to_go_before_it(capsys):
    from sgns.train.export import SCHEMA

    with pytest.raises(SystemExit):
        SCHEMA.parser().parse_args(["--", "run", "--output", "x"])
    line = capsys.readouterr().err
    assert "--output is given after --" in line and "required" not in line, line


@pytest.mark.parametrize("prog", sorted(commands.COMMANDS))
def test_every_command_answers_version_in_one_line(monkeypatch, capsys, prog):
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # (put back after the run guards it)
    monkeypatch.setattr(sys, "argv", [prog, "--version"])
    assert commands.run(prog, "no_module_imported") == 0
    assert capsys.readouterr().out == f"{prog} {sgns.__version__}\n"


def test_version_after_double_dash_is_an_argument(monkeypatch, tmp_path):
    (tmp_path / "quick.py").write_text("def main():\n    print('ran')\n    return 0\n")
    code = "import sys; from sgns.commands import run; sys.exit(run('sgns-x', 'quick'))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    done = subprocess.run([sys.executable, "-c", code, "--", "--version"], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "ran\n"), done.stderr


@pytest.mark.parametrize(
    "value, said",
    [("", "WORLD_SIZE='' in the environment is no whole number"),
     ("two", "WORLD_SIZE='two' in the environment is no whole number"),
     (" 2 ", "sgns.fit runs in one process: under torchrun")],
)  # fmt: skip
def test_fit_reads_world_size_as_the_commands_do(monkeypatch, tmp_path, value, said):
    """(review of FH's F12) sgns.fit's own int(WORLD_SIZE): ValueError, a traceback."""
    import sgns

    monkeypatch.setenv("WORLD_SIZE", value)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")  # (as torchrun sets them with WORLD_SIZE)
    monkeypatch.setenv("MASTER_PORT", "29500")
    with pytest.raises(UsageError, match=re.escape(said)):
        sgns.fit([["a", "b"]] * 20, workdir=str(tmp_path / "wk"), min_count=1, dim=4)
    assert not (tmp_path / "wk").exists()


def test_sgns_trains_main_called_directly_names_a_bad_world_size(monkeypatch, capsys, tmp_path):
    from sgns.train.cli import main

    monkeypatch.setenv("WORLD_SIZE", "x")
    with pytest.raises(SystemExit) as ended:
        main(["--data", str(tmp_path / "d"), "--output", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert ended.value.code == 2 and len(err) == 1 and "WORLD_SIZE='x'" in err[0]
