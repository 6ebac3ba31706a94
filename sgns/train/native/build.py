"""The native kernel: sgns_kernel.c and sgns_groups.c compiled at first use, cached, loaded.

The system C compiler (`$CC`, else `cc`) builds them (with sgns_common.h) with `-O3
-march=native` (or without -march where a compiler or CPU lacks it) into one shared library
cached under `$SGNS_CACHE` (default ~/.cache/sgns; the temp directory's sgns-UID when that
cannot be written or HOME is not absolute), keyed by the sources, the flags, the compiler and
the CPU. The kernel's size limits are defined here and handed to the compiler (-D), so Python
and C cannot disagree on them.

A library loaded runs its code in the process: a cache folder is used only when it is private
(sgns.train.native.private, as ssh takes ~/.ssh); else it is said in the log and the kernel is
compiled in a fresh private folder, removed once loaded. A cached file that is not this user's
own, is cut short or is not the kernel is compiled again; a compile that fails is not tried again
in another folder (but for a full disk or quota).

`available()` says whether the kernel builds here; without a compiler the trainer falls back to
the tensor step (and says so). No torch here: the config checks the limits without a build.
"""

from __future__ import annotations

import _ctypes
import ctypes
import errno
import hashlib
import logging
import os
import platform
import shlex
import shutil
import stat
import struct
import subprocess
import tempfile
import threading

from sgns.train.native.private import others_write, refusal

log = logging.getLogger(__name__)

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = [os.path.join(_HERE, name) for name in ("sgns_kernel.c", "sgns_groups.c")]
HEADERS = [os.path.join(_HERE, "sgns_common.h")]  # in the cache key, as the sources are
MAX_DIM, MAX_NEGATIVES = 4096, 256  # the kernel's stack buffers: a row and a pair's targets
MAX_GROUP = 256  # pairs of one group (negative mode "group": sgns_groups)
_LIMITS = [f"-DSGNS_MAX_DIM={MAX_DIM}", f"-DSGNS_MAX_NEGATIVES={MAX_NEGATIVES}",
           f"-DSGNS_MAX_GROUP={MAX_GROUP}"]  # fmt: skip
_FLAG_SETS = (
    ["-O3", "-march=native", "-fopenmp-simd", "-fno-math-errno", *_LIMITS],
    ["-O3", "-fopenmp-simd", "-fno-math-errno", *_LIMITS],  # compilers or CPUs without -march
)
_lock = threading.Lock()
_loaded: dict = {}  # "lib": the CDLL, or "error": why it could not be built


class NativeUnavailable(RuntimeError):
    """The kernel cannot be built or loaded here (no C compiler, or it failed)."""


class _CompileFailed(NativeUnavailable):
    """The compiler failed: the sources or flags, not the folder (tried in no other folder)."""


def _cpu_identity() -> str:
    """What -march=native depends on: the CPU model and its feature flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() + platform.machine()


def cache_dir() -> str | None:  # (None: HOME set but not absolute; '' was /.cache, at the root)
    if os.environ.get("SGNS_CACHE") or not os.path.isabs(os.environ.get("HOME", "/")):
        return os.environ.get("SGNS_CACHE") or None
    return os.path.join(os.path.expanduser("~"), ".cache", "sgns")


def _compiler() -> list[str]:
    """The C compiler's command: $CC split as a shell splits it (unset or blank: cc);
    NativeUnavailable when it is not found."""
    said = os.environ.get("CC", "")
    try:
        cc = shlex.split(said) or ["cc"]
    except ValueError as e:  # (an unclosed quote)
        raise NativeUnavailable(f"CC={said!r} is no command ({e})") from None
    if not shutil.which(cc[0]):
        raise NativeUnavailable(f"no C compiler ({cc[0]!r} not found)")
    return cc


def _compile(cc: list[str], flags: list[str], target: str) -> None:
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    fd, temp = tempfile.mkstemp(suffix=".so", dir=os.path.dirname(target))
    os.close(fd)
    try:
        cmd = [*cc, *flags, "-shared", "-fPIC", "-o", temp, *SOURCES, "-lm"]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise _CompileFailed(f"{' '.join(cmd)} ran past 120 s") from None
        if result.returncode != 0:
            full = any(os.strerror(n) in result.stderr for n in (errno.ENOSPC, errno.EDQUOT))
            said = f"{' '.join(cmd)} failed: {result.stderr.strip()[-500:]}"
            raise NativeUnavailable(said) if full else _CompileFailed(said)  # (full: the folder's)
        os.chmod(temp, 0o700)  # (the umask's mode otherwise: 000 under umask 777, unreadable)
        with open(temp, "rb") as f:  # its blocks on the disk before its name: a crash then
            os.fsync(f.fileno())  # leaves the old library or the whole new one, not one cut short
        os.replace(temp, target)  # atomic: another process may be compiling the same
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _is_whole(path: str) -> bool:
    """Whether the cached library at `path` is whole: an ELF file that holds its section
    headers, which the linker writes at its end. One cut short (a crash or a full disk before
    its blocks reached the disk, a partial copy of a cache) would end the process with SIGBUS
    when loaded, before a word could be said: it is compiled again instead. Elsewhere than on
    Linux (Mach-O), dlopen's own check is what there is."""
    with open(path, "rb") as f:
        head, size = f.read(64), os.fstat(f.fileno()).st_size
    if head[:4] != b"\x7fELF":
        return platform.system() != "Linux" and size > 0
    wide, order = head[4:5] == b"\x02", "<" if head[5:6] == b"\x01" else ">"
    if len(head) < (64 if wide else 52):
        return False
    if wide:  # e_shoff, then e_shentsize and e_shnum (the ELF header's layout)
        (table,) = struct.unpack_from(order + "Q", head, 0x28)
        entry, count = struct.unpack_from(order + "HH", head, 0x3A)
    else:
        (table,) = struct.unpack_from(order + "I", head, 0x20)
        entry, count = struct.unpack_from(order + "HH", head, 0x2E)
    return table + entry * count <= size


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    """The C functions' signatures (see sgns_kernel.c and sgns_groups.c)."""
    p, i64, u64, f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_float
    lib.sgns_batch.restype = ctypes.c_int
    lib.sgns_batch.argtypes = [
        p, i64, i64, p, p, i64, p, i64, i64, p, p, u64, f32, i64, f32, p
    ]  # fmt: skip
    lib.sgns_groups.restype = ctypes.c_int
    lib.sgns_groups.argtypes = [
        p, i64, i64, p, p, i64, p, i64, i64, i64, p, p, u64, f32, i64, f32, p
    ]  # fmt: skip
    lib.sgns_group_order.restype = ctypes.c_int
    lib.sgns_group_order.argtypes = [p, i64, i64, u64, p, p]
    lib.sgns_draw.restype = None
    lib.sgns_draw.argtypes = [p, p, i64, u64, i64, i64, i64, p]
    return lib


def _stale(target: str) -> str | None:
    """Why the cached library at `target` is compiled again, or None when it is loaded."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return ""
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or others_write(info):
        return "the cached one is not this user's own file"
    return None if _is_whole(target) else "the cached one is cut short"


def _open(path: str) -> ctypes.CDLL:
    """The library at `path`, its functions declared; NativeUnavailable when it lacks them
    (unloaded again, so that the library compiled in its place is loaded, not this one)."""
    lib = ctypes.CDLL(path)
    try:
        return _declare(lib)
    except AttributeError as e:
        if hasattr(_ctypes, "dlclose"):
            _ctypes.dlclose(lib._handle)
        raise NativeUnavailable(f"{path} is not the kernel ({e})") from None


def _cached(cc: list[str], flags: list[str], target: str) -> ctypes.CDLL:
    """The kernel at `target`, in a private cache folder; compiled there first when it is
    missing, cut short (loaded, it would end the process with SIGBUS), not this user's own file,
    or a library that does not load as the kernel."""
    why = _stale(target)
    if why is None:
        try:
            return _open(target)
        except (NativeUnavailable, OSError) as e:
            why = f"the cached one does not load: {e}"
    log.info("compiling the native kernel%s: %s", f" ({why})" if why else "", target)
    _compile(cc, flags, target)
    return _open(target)


def _fresh(cc: list[str], flags: list[str], name: str) -> ctypes.CDLL:
    """The kernel compiled in a new private temporary folder, loaded, and the folder removed
    (the process keeps what it loaded): when no cache folder can be used."""
    folder = tempfile.mkdtemp(prefix="sgns-kernel-")  # (a random name, mode 700, this user's)
    os.chmod(folder, 0o700)  # (mkdtemp's 700 is cut by the umask)
    try:
        info = os.lstat(folder)  # (only it: the kernel is loaded from it at once, then removed)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise NativeUnavailable(f"the temporary folder {folder} is not private")
        log.info("compiling the native kernel for this process: %s", folder)
        _compile(cc, flags, os.path.join(folder, name))
        return _open(os.path.join(folder, name))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _build() -> ctypes.CDLL:
    cc = _compiler()
    source = b""
    for path in SOURCES + HEADERS:
        with open(path, "rb") as f:
            source += f.read() + b"\0"
    try:
        version = subprocess.run(
            [*cc, "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise NativeUnavailable(f"C compiler {shlex.join(cc)!r} does not run ({e})") from None
    errors, refused = [], {}  # refused: cache folder -> why it is not used (None: it is)
    fallback = os.path.join(tempfile.gettempdir(), f"sgns-{os.getuid()}")  # (a read-only home)
    folders = (*dict.fromkeys((cache_dir() or fallback, fallback)), None)  # None: a fresh one
    for flags in _FLAG_SETS:
        key = hashlib.sha256(
            b"\0".join(
                [source, " ".join(flags).encode(), version.encode(), _cpu_identity().encode()]
            )
        ).hexdigest()[:16]
        name = f"sgns_kernel-{key}.so"
        for folder in folders:
            try:
                if folder is None:
                    return _fresh(cc, flags, name)
                if folder not in refused:
                    refused[folder] = refusal(folder)
                    if refused[folder]:
                        log.warning("the kernel cache %s %s: not used, a library there would run "
                                    "as this user; set SGNS_CACHE to a private folder (mode 700)",
                                    folder, refused[folder])  # fmt: skip
                if not refused[folder]:
                    return _cached(cc, flags, os.path.join(folder, name))
            except _CompileFailed as e:  # (the same in another folder: the next flags)
                errors.append(str(e))
                break
            except (NativeUnavailable, OSError, subprocess.SubprocessError) as e:
                errors.append(str(e))
                if folder == os.environ.get("SGNS_CACHE", ""):  # (the user's: said)
                    log.warning("the kernel cache %s (SGNS_CACHE) cannot be used: %s", folder, e)
    raise NativeUnavailable("; ".join(errors))


def load() -> ctypes.CDLL:
    """The compiled kernel (built once per process, cached on disk); NativeUnavailable if not."""
    with _lock:
        if "lib" not in _loaded and "error" not in _loaded:
            try:
                _loaded["lib"] = _build()
            except NativeUnavailable as e:
                _loaded["error"] = str(e)
        if "error" in _loaded:
            raise NativeUnavailable(_loaded["error"])
        return _loaded["lib"]


def available() -> bool:
    """Whether the kernel builds and loads here (logs why not, once per process)."""
    try:
        load()
        return True
    except NativeUnavailable as e:
        if not _loaded.get("warned"):
            _loaded["warned"] = True
            log.warning("native CPU kernel unavailable, using the tensor step: %s", e)
        return False
