"""The local runner: Beam's FnApiRunner (DirectRunner's engine) whose threaded workers never send
part of an element.

Beam 2.77's threaded workers (`direct_running_mode` multi_threading) flush each output stream of
a bundle every second from a timer thread, also while an element is half encoded; the runner
decodes every flushed chunk on its own, so an element cut in two decodes as garbage. We saw it
as a window count in the hundreds of millions and the process growing to all the machine's
memory, in the vocabulary run, whose per-bundle word counts are elements of megabytes (how often
and how large: BENCHMARKS.md, "Figures behind the defaults"). The size-based flush only ever
cuts between elements, so `LocalRunner` sets the timer's interval of its threaded environments
so long that it never fires. Everything else is FnApiRunner's.

Versions: written for apache-beam 2.77 (setup.py asks for >= 2.77), whose Python SDK harness
flushes on a timer (TimeBasedBufferingClosableOutputStream, DATA_BUFFER_TIME_LIMIT_MS = 1000 in
fn_api_runner.worker_handlers). When to drop it: run the child pipeline of
tests/test_pipeline_localrunner.py (timer at 1 ms) with runner
"apache_beam.runners.portability.fn_api_runner.FnApiRunner" a few times on the new Beam; when
every run gives the right total, the timer no longer cuts elements and this module can go
(sgns.pipeline.preprocess.LOCAL_RUNNER then names FnApiRunner).
"""

from __future__ import annotations

import json

from apache_beam.portability import python_urns
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.transforms.environments import EmbeddedPythonGrpcEnvironment

NO_TIME_FLUSH_MS = 2**31 - 1  # about 25 days: the timer never fires within a run


def without_time_flush(pipeline_proto) -> None:
    """Set the time-based flush interval of every threaded (embedded gRPC) environment."""
    for environment in pipeline_proto.components.environments.values():
        if environment.urn != python_urns.EMBEDDED_PYTHON_GRPC:
            continue
        payload = environment.payload.decode("utf-8")
        config = EmbeddedPythonGrpcEnvironment.parse_config(payload) if payload else {}
        config["data_buffer_time_limit_ms"] = NO_TIME_FLUSH_MS
        environment.payload = json.dumps(config).encode("utf-8")


class LocalRunner(FnApiRunner):
    """FnApiRunner with the time-based flush of threaded workers turned off."""

    def run_via_runner_api(self, pipeline_proto, options):
        without_time_flush(pipeline_proto)
        return super().run_via_runner_api(pipeline_proto, options)
