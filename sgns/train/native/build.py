"""Building the native kernel: sgns_kernel.c and sgns_groups.c compiled at first use, cached on
disk, loaded.

The system C compiler (`$CC`, else `cc`) builds them (with sgns_common.h) with `-O3
-march=native` (or without -march where a compiler or CPU lacks it) into one shared library
cached under `$SGNS_CACHE` (default ~/.cache/sgns; the temp directory when that cannot be
written), keyed by the sources, the flags, the compiler and the CPU. The kernel's size limits
are defined here and handed to the compiler (-D), so Python and C cannot disagree on them.

`available()` says whether the kernel builds here; without a compiler the trainer falls back to
the tensor step (and says so). No torch here: the config checks the limits without a build.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import struct
import subprocess
import tempfile
import threading

log = logging.getLogger(__name__)

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = [os.path.join(_HERE, name) for name in ("sgns_kernel.c", "sgns_groups.c")]
HEADERS = [os.path.join(_HERE, "sgns_common.h")]  # in the cache key, as the sources are
MAX_DIM, MAX_NEGATIVES = 4096, 256  # the kernel's stack buffers: a row and a pair's targets
MAX_GROUP = 256  # pairs of one group (negative mode "group": sgns_groups)
_LIMITS = [
    f"-DSGNS_MAX_DIM={MAX_DIM}", f"-DSGNS_MAX_NEGATIVES={MAX_NEGATIVES}",
    f"-DSGNS_MAX_GROUP={MAX_GROUP}",
]  # fmt: skip
_FLAG_SETS = (
    ["-O3", "-march=native", "-fopenmp-simd", "-fno-math-errno", *_LIMITS],
    ["-O3", "-fopenmp-simd", "-fno-math-errno", *_LIMITS],  # compilers or CPUs without -march
)
_lock = threading.Lock()
_loaded: dict = {}  # "lib": the CDLL, or "error": why it could not be built


class NativeUnavailable(RuntimeError):
    """The kernel cannot be built or loaded here (no C compiler, or it failed)."""


def _cpu_identity() -> str:
    """What -march=native depends on: the CPU model and its feature flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() + platform.machine()


def cache_dir() -> str:
    return os.environ.get("SGNS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "sgns")


def _compiler() -> str | None:
    cc = os.environ.get("CC", "cc")
    return shutil.which(cc.split()[0]) and cc


def _compile(cc: str, flags: list[str], target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, temp = tempfile.mkstemp(suffix=".so", dir=os.path.dirname(target))
    os.close(fd)
    try:
        cmd = [*cc.split(), *flags, "-shared", "-fPIC", "-o", temp, *SOURCES, "-lm"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise NativeUnavailable(f"{' '.join(cmd)} failed: {result.stderr.strip()[-500:]}")
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


def _build() -> ctypes.CDLL:
    cc = _compiler()
    if not cc:
        raise NativeUnavailable(f"no C compiler ({os.environ.get('CC', 'cc')!r} not found)")
    source = b""
    for path in SOURCES + HEADERS:
        with open(path, "rb") as f:
            source += f.read() + b"\0"
    try:
        version = subprocess.run(
            [*cc.split(), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise NativeUnavailable(f"C compiler {cc!r} does not run ({e})") from None
    errors = []
    # a read-only home (some cluster containers): build in the temp directory instead
    fallback = os.path.join(tempfile.gettempdir(), f"sgns-{os.getuid()}")
    for flags, folder in [(f, d) for f in _FLAG_SETS for d in (cache_dir(), fallback)]:
        key = hashlib.sha256(
            b"\0".join(
                [source, " ".join(flags).encode(), version.encode(), _cpu_identity().encode()]
            )
        ).hexdigest()[:16]
        target = os.path.join(folder, f"sgns_kernel-{key}.so")
        try:
            damaged = os.path.exists(target) and not _is_whole(target)
            if damaged or not os.path.exists(target):
                log.info("compiling the native kernel%s: %s", " (the cached one is cut short)"
                         if damaged else "", target)  # fmt: skip
                _compile(cc, flags, target)
            return _declare(ctypes.CDLL(target))
        except (NativeUnavailable, OSError, subprocess.SubprocessError) as e:
            errors.append(str(e))
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
