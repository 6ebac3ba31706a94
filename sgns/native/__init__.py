"""The native CPU engine: word2vec.c's pair-by-pair SGNS update in C, compiled at first use.

Why: on CPU the tensor step (sgns/step.py) is bound by per-op overhead and, in pool mode, by
80-negative matrix products; word2vec.c's loop touches 1 + K output rows per pair and nothing
else. This module compiles `sgns_kernel.c` with the system C compiler (`$CC`, else `cc`) and
`-O3 -march=native`, caches the shared library under `$SGNS_CACHE` (default ~/.cache/sgns) keyed
by the source, the flags, the compiler and the CPU, and calls it through ctypes, which releases
the GIL: `threads` Python threads run slices of a batch at once on the shared table, lock-free
(Hogwild, as word2vec.c and gensim). With one thread a run is bit-reproducible for a seed;
with more, like gensim with several workers, rounding differs between runs.

`available()` says whether the kernel can be built here; without a compiler the trainer falls
back to the tensor step (and says so).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import torch

log = logging.getLogger("sgns.native")

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sgns_kernel.c")
MAX_DIM, MAX_NEGATIVES = 4096, 256  # as in the C source
_FLAG_SETS = (
    ["-O3", "-march=native", "-fopenmp-simd", "-fno-math-errno"],
    ["-O3", "-fopenmp-simd", "-fno-math-errno"],  # compilers or CPUs without -march=native
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
        cmd = [*cc.split(), *flags, "-shared", "-fPIC", "-o", temp, SOURCE, "-lm"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise NativeUnavailable(f"{' '.join(cmd)} failed: {result.stderr.strip()[-500:]}")
        os.replace(temp, target)  # atomic: another process may be compiling the same
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _build() -> ctypes.CDLL:
    cc = _compiler()
    if not cc:
        raise NativeUnavailable(f"no C compiler ({os.environ.get('CC', 'cc')!r} not found)")
    with open(SOURCE, "rb") as f:
        source = f.read()
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
            if not os.path.exists(target):
                log.info("compiling the native kernel: %s", target)
                _compile(cc, flags, target)
            lib = ctypes.CDLL(target)
        except (NativeUnavailable, OSError, subprocess.SubprocessError) as e:
            errors.append(str(e))
            continue
        p, i64, u64, f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_float
        lib.sgns_batch.restype = ctypes.c_double
        lib.sgns_batch.argtypes = [
            p, i64, i64, p, p, i64, p, i64, i64, p, p, u64, f32, i64, f32
        ]  # fmt: skip
        lib.sgns_draw.restype = None
        lib.sgns_draw.argtypes = [p, p, i64, u64, i64, i64, i64, p]
        return lib
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


CHUNK = 256  # pairs a thread takes at a time from a batch (sgns_batch)


class NativeEngine:
    """Applies batches of pairs to a CPU float32 table (2V, D) in place, `threads` at once,
    drawing each pair's negatives from `sampler`'s alias tables (sgns.sampler.AliasSampler).
    The calling thread trains too: `threads` - 1 helper threads join it on each batch (handing
    the batch over and reading the next one meanwhile was measured slower on 2 cores)."""

    def __init__(self, sampler, negatives: int, threads: int = 1):
        lib = load()
        self.fn, self.draw_fn = lib.sgns_batch, lib.sgns_draw
        self.prob = sampler.prob.to(torch.float32).contiguous()  # (V,)
        self.alias = sampler.alias.to(torch.int64).contiguous()  # (V,)
        if self.prob.device.type != "cpu":
            raise ValueError("the native engine samples on the CPU")
        if not 1 <= negatives <= MAX_NEGATIVES:
            raise ValueError(
                f"the native engine takes 1..{MAX_NEGATIVES} negatives, not {negatives}"
            )
        self.k = negatives
        self.threads = max(1, threads)
        self.pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown()

    def negatives(self, seed: int, pairs: int, first: int = 0) -> torch.Tensor:
        """The negatives (pairs, K) int64 that `step` draws for pairs first .. first + pairs - 1
        of a batch with this seed."""
        out = torch.empty(pairs, self.k, dtype=torch.int64)
        self.draw_fn(
            self.prob.data_ptr(), self.alias.data_ptr(), len(self.prob), seed, first, pairs,
            self.k, out.data_ptr(),
        )  # fmt: skip
        return out

    def step(
        self,
        weights: torch.Tensor,
        centers: torch.Tensor,
        contexts: torch.Tensor,
        seed: int,
        lr: float,
        old_words: int = 0,
        old_ratio: float = 1.0,
    ) -> float:
        """Train the pairs (centers, contexts: (B,)) into `weights` in place, with negatives
        drawn from `seed` (an integer in [0, 2**64)); returns the batch's summed loss."""
        if weights.dtype != torch.float32 or weights.device.type != "cpu":
            raise ValueError("the native engine trains a float32 table on the CPU")
        if not weights.is_contiguous():
            raise ValueError("the native engine needs a contiguous table")
        vocab, dim = weights.shape[0] // 2, weights.shape[1]
        if dim > MAX_DIM:
            raise ValueError(f"the native engine supports dim <= {MAX_DIM}, got {dim}")
        if vocab != len(self.prob):
            raise ValueError(f"table of {vocab} words, sampler of {len(self.prob)}")
        centers = centers.to(torch.int32).contiguous()
        contexts = contexts.to(torch.int32).contiguous()
        n = centers.shape[0]
        if contexts.shape != (n,):
            raise ValueError(f"{n} centers but {tuple(contexts.shape)} contexts")
        if n == 0:
            return 0.0
        low, high = torch.aminmax(torch.cat([centers, contexts]))
        if low < 0 or high >= vocab:  # the C code would write outside the table
            raise ValueError(f"word ids in [{int(low)}, {int(high)}], the table has {vocab} words")
        taken = torch.zeros(1, dtype=torch.int64)  # the threads' shared position in the batch
        args = (
            weights.data_ptr(), vocab, dim, centers.data_ptr(), contexts.data_ptr(), n,
            taken.data_ptr(), CHUNK, self.k, self.prob.data_ptr(), self.alias.data_ptr(), seed,
            lr, old_words, old_ratio,
        )  # fmt: skip
        if self.pool is None:
            return self.fn(*args)
        helpers = [self.pool.submit(self.fn, *args) for _ in range(self.threads - 1)]
        try:
            loss = self.fn(*args)
        finally:  # the helpers use this frame's buffers: never leave while they run
            wait(helpers)
        return loss + sum(f.result() for f in helpers)
