"""`--watch`: keep polling the input patterns; add each batch of new, settled files as one
increment (the first batch builds the dataset when --output holds none).

New: no increment of the dataset read the file (by path). A file that is one already read under
another name (a copy, or the same text: sgns.pipeline.dataset.inputs) is skipped with a warning; a
file that changes after an increment read it (another size, or another mtime and other bytes) is
not read again, said once in a warning (append new files, do not grow or replace old ones).

Settled: two polls one interval apart saw the same size and mtime, and the size is not 0. A file
still being written is therefore not taken half-written as long as its writer adds to it at least
once per poll interval; a writer that pauses longer must write under a name outside the pattern
and rename the file in when done (a rename is atomic, and needs no timing assumption). A .gz or
.bz2 file is taken only once it also decodes to its end-of-stream marker
(sgns.pipeline.text.compressed): one that stops short is waited for (said once), a corrupt one is
skipped and said, until either changes; neither holds back the other files of its poll, nor enters
the manifest. That check decodes the file once, and the text's fingerprint is taken in the same
pass.

Stopping: SIGINT (Ctrl-C) or SIGTERM while waiting stops at once; during an increment, the
increment is finished and committed first, and a second signal abandons it (the dataset stays as
its manifest says). Both log and return normally (exit 0). `max_increments` stops after that many
increments (tests, batch jobs). A failing increment (a full disk, say) is rolled back and ends
the watch with its error, rather than being retried forever.

One writer: the watch holds the dataset's lock (sgns.pipeline.dataset.outdir.DatasetLock) from
start to end, and before each increment checks that it is still the folder's: a folder removed (or
replaced) under it gets its lock taken again, said, before anything is written there (another
writer holding it by then ends the watch in one line), and the watch goes on a poll interval later
(its files settled again): with increment 0 when no dataset is there, else adding to the dataset
there only if made with the watch's settings (as --append checks them; else one line, the end).
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass

from sgns.console import signals
from sgns.dataset.settings import poll_seconds_problem
from sgns.errors import UsageError, note_signal
from sgns.pipeline.config import PipelineConfig
from sgns.pipeline.dataset.increment import check_settings, read_dataset
from sgns.pipeline.dataset.inputs import (
    already_ingested,
    check_outside,
    describe_file,
    ingested_paths,
    print_fields,
    raw_prints,
    repeated_inputs,
)
from sgns.pipeline.dataset.outdir import DatasetLock, claim, recover
from sgns.pipeline.runs import add_increment
from sgns.pipeline.text.compressed import decode_problem, is_checked
from sgns.pipeline.text.read import list_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchConfig:
    """Settings of `sgns-preprocess --watch`."""

    poll_seconds: float = 10.0
    max_increments: int | None = None  # stop after this many increments; None: until a signal

    def __post_init__(self):
        problem = poll_seconds_problem(self.poll_seconds)  # (as sgns-train --follow's)
        if problem:
            raise UsageError(problem)
        if self.max_increments is not None and (
            not isinstance(self.max_increments, int) or self.max_increments < 1
        ):
            raise UsageError(
                f"--watch-max-increments must be an integer >= 1, got {self.max_increments!r}"
            )


def settled(files: list, seen: dict) -> tuple[list, dict]:
    """(the files whose size and mtime equal what the poll before saw, and are not empty;
    what this poll saw, for the next one). `files` are FileMetadata."""
    now = {m.path: (m.size_in_bytes, m.last_updated_in_seconds) for m in files}
    ready = [m for m in files if m.size_in_bytes > 0 and seen.get(m.path) == now[m.path]]
    return ready, now


class Stopper:
    """Turns SIGINT and SIGTERM into a stop request (main thread only; elsewhere `stop()` is
    the way); a second signal during an increment abandons it (KeyboardInterrupt)."""

    def __init__(self):
        self.requested = threading.Event()
        self.busy = False  # an increment is running
        self._previous = {}

    def stop(self, signum=None, frame=None) -> None:
        if signum is not None:  # (the line of a command a second one stops names it)
            note_signal(signum)
        if self.requested.is_set() and self.busy:
            log.warning("second stop signal: abandoning the increment")
            signals.arm()  # (the command's block then ends within its grace: sgns.console.signals)
            raise KeyboardInterrupt
        self.requested.set()
        log.info(
            "stop requested: %s", "finishing the increment (signal again to abandon it)"
            if self.busy else "stopping",
        )  # fmt: skip

    def __enter__(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self.stop)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            if self.requested.is_set():  # stopping: a second signal (systemd's, timeout's)
                handler = _already_stopping  # must not end it with 143 and no line
            signal.signal(sig, handler or signal.SIG_DFL)  # (None: set outside Python)


def _already_stopping(signum, frame) -> None:
    log.info("already stopping (%s ignored)", signal.Signals(signum).name)


def decodable(files: list, verdicts: dict) -> list:
    """The files that are not compressed, or decode to their end; the others are said once per
    size and mtime (`verdicts` remembers them, and of a file that decodes the content fields
    that decoding gave, so that it is decoded once: `texts`; a read error is not remembered)."""
    ready = []
    for m in files:
        if not is_checked(m.path):
            ready.append(m)
            continue
        key = (m.path, m.size_in_bytes, m.last_updated_in_seconds)
        if key not in verdicts:
            printed = {}
            try:
                problem = decode_problem(m.path, printed)
            except OSError as e:  # could not read it now (not its data): try again next poll
                log.warning("cannot read %s (%s): trying again at the next poll", m.path, e)
                continue
            verdicts[key] = problem or print_fields(printed[m.path])
            if problem is not None:
                kind, message = problem
                what = "waiting for it to change" if kind == "truncated" else "skipping it"
                log.warning("%s: %s", message, what)
        if isinstance(verdicts[key], dict):
            ready.append(m)
    return ready


def texts(files: list, verdicts: dict) -> dict:
    """path -> the content fields `decodable` found of each of `files` that it decoded."""
    found = (verdicts.get((m.path, m.size_in_bytes, m.last_updated_in_seconds)) for m in files)
    return {m.path: text for m, text in zip(files, found) if isinstance(text, dict)}


def changed_files(files: list, manifest: dict | None, checked: dict) -> dict[str, str]:
    """path -> a note naming the increment that read it, for each of `files` (FileMetadata)
    that an increment read and that is not the file it read: another size, or another mtime
    and another raw identity (sgns.pipeline.dataset.inputs; `checked` keeps what each path,
    size and mtime gave: a file is read once for it, not at every poll)."""
    records = {entry["path"]: (entry, increment["index"])
               for increment in (manifest or {}).get("increments", [])
               for entry in increment.get("inputs", []) if isinstance(entry, dict)}  # fmt: skip
    changed = {}
    for m in files:
        entry, index = records.get(m.path, ({}, None))
        if "size" not in entry or "head_tail_sha256" not in entry:
            continue  # (not read, or read by a dataset that knew its files by their paths)
        key = (m.path, m.size_in_bytes, m.last_updated_in_seconds)
        same_size = m.size_in_bytes == entry["size"]
        if same_size and key not in checked:
            if m.last_updated_in_seconds == entry.get("mtime"):
                continue
            try:
                checked[key] = raw_prints(m.path, m.size_in_bytes)[0] != entry["head_tail_sha256"]
            except OSError:  # (gone since it was listed: looked at again at the next poll)
                continue
        if not same_size or checked[key]:
            changed[m.path] = f"{m.path} changed since increment {index} took it"
    return changed


def new_files(
    config: PipelineConfig, manifest: dict | None, skipped: set, ready=None, verdicts=None,
    said: set | None = None, checked: dict | None = None,
) -> list:  # fmt: skip
    """Files the patterns match now that no increment read (nor a copy of one), each content
    once; copies are added to `skipped`, with a warning. `ready(files)`: those of the new files
    that may be read now (settled, and decoding to their end: a compressed file's content is
    its decompressed text, read only then, as `decodable` records in `verdicts`). A file that
    an increment read and that changed since is never read again: said once (`said` keeps
    the paths said, `checked` what `changed_files` found)."""
    known = ingested_paths(manifest)
    files = list_files(config.inputs, allow_missing=True)
    check_outside(files, config.output)
    said = set() if said is None else said
    changed = changed_files([m for m in files if m.path not in said], manifest, checked or {})
    for path, note in changed.items():
        log.warning("%s; not read again: give new text a new name", note)
        said.add(path)
    fresh = [m for m in files if m.path not in known and m.path not in skipped]
    fresh = fresh if ready is None else ready(fresh)
    if not fresh:
        return fresh
    decoded = texts(fresh, verdicts or {})
    described = [describe_file(m, text=decoded.get(m.path)) for m in fresh]
    copies = already_ingested(described, manifest) if manifest is not None else {}
    for path, note in copies.items():
        log.warning("skipping %s: already in the dataset", note)
        skipped.add(path)
    # a file repeating another new one waits: once that one is read it is a copy, skipped above
    twice = repeated_inputs([d for d in described if d["path"] not in copies])
    for note in twice.values():
        log.warning("not reading %s now: the same file twice", note)
    return [m for m in fresh if m.path not in copies and m.path not in twice]


def retake(lock: DatasetLock, config: PipelineConfig) -> None:
    """Take the lock of the folder now at --output (removed or replaced while the watch held
    its lock) and recover it; UsageError when another writer holds it, or when the dataset
    there was made with other settings than the watch's (`check_settings`, as --append). No
    dataset there: the watch builds increment 0, as at its start."""
    log.warning("%s was removed or replaced while --watch held it: taking the lock of what is "
                "there now", config.output)  # fmt: skip
    lock.take()
    claim(config.output)
    recover(config.output)
    manifest = read_dataset(config.output)
    if manifest is None:
        return
    try:
        check_settings(config, manifest["config"])
    except UsageError as e:
        raise UsageError(
            f"--watch: {config.output} was replaced while the watch ran, by a dataset made with "
            f"other settings: {e}; start the watch again to add to it"
        ) from None


def watch(
    config: PipelineConfig, settings: WatchConfig, options, stopper: Stopper | None = None
) -> int:
    """Poll and add increments until stopped; returns the number of increments added."""
    stopper = stopper or Stopper()
    seen: dict = {}
    skipped: set = set()
    verdicts: dict = {}
    said: set = set()  # files changed since an increment took them, said once
    checked: dict = {}
    added = 0

    def ready_now(found: list) -> list:
        found, now = settled(found, seen)
        seen.clear()
        seen.update(now)
        return decodable(found, verdicts)

    with DatasetLock(config.output) as lock, stopper:
        claim(config.output)
        recover(config.output)
        log.info("watching %s every %g s", ",".join(config.inputs), settings.poll_seconds)
        while not stopper.requested.is_set():
            manifest = read_dataset(config.output)
            ready = new_files(config, manifest, skipped, ready_now, verdicts, said, checked)
            if ready and lock.lost():  # (before a write: never one without the lock)
                retake(lock, config)
                for known in (skipped, said, checked):  # (of the dataset that was there)
                    known.clear()
                ready = []  # (a poll interval on: its manifest read again, files settled)
            if ready:
                stopper.busy = True
                try:
                    add_increment(config, ready, manifest, options, texts(ready, verdicts))
                except KeyboardInterrupt:
                    log.info("increment abandoned; the dataset is as its manifest says")
                    break
                finally:
                    stopper.busy = False
                added += 1
                if settings.max_increments is not None and added >= settings.max_increments:
                    log.info("added %d increments (--watch-max-increments): stopping", added)
                    break
            stopper.requested.wait(settings.poll_seconds)
    log.info("watch stopped after %d increments", added)
    return added
