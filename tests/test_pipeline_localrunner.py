"""The local runner never lets a threaded worker flush part of an element (pipeline/localrunner.py).

Beam's threaded workers flush output every DATA_BUFFER_TIME_LIMIT_MS (1 s) from a timer thread,
also mid-element; here the timer is set to 1 ms, which makes plain FnApiRunner fail on the first
run of this pipeline (MemoryError decoding a cut element; measured, not run here: it takes all
the memory it is given). Run in a child process under an 8 GB address-space cap, so that a
regression fails the test instead of exhausting the machine.
"""

import subprocess
import sys

import apache_beam as beam

from sgns.pipeline.localrunner import NO_TIME_FLUSH_MS, without_time_flush

CHILD = r"""
import random, resource, sys
from collections import Counter
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions
from apache_beam.runners.portability.fn_api_runner import worker_handlers
worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 1  # Beam's timer flush, every millisecond

def counts(i):  # an element of about a megabyte, as the vocabulary run's accumulators
    rng = random.Random(i)
    return Counter({f"w{rng.randrange(10**7)}": 1 + rng.randrange(9) for _ in range(30000)})

class Merge(beam.CombineFn):
    def create_accumulator(self): return Counter()
    def add_input(self, acc, element): acc.update(element); return acc
    def merge_accumulators(self, accs):
        out = Counter()
        for a in accs: out.update(a)
        return out
    def extract_output(self, acc): return acc

expected = sum(sum(counts(i).values()) for i in range(8))
options = PipelineOptions([], runner="sgns.pipeline.localrunner.LocalRunner")
options.view_as(DirectOptions).direct_num_workers = 2
options.view_as(DirectOptions).direct_running_mode = "multi_threading"
with beam.Pipeline(options=options) as p:
    total = (p | beam.Create(list(range(8))) | beam.Map(counts) | beam.CombineGlobally(Merge())
               | beam.Map(lambda c: sum(c.values())))
    total | beam.Map(lambda t: open(sys.argv[1], "w").write(str(t)))
assert int(open(sys.argv[1]).read()) == expected, "counts were lost or doubled"
"""


def test_large_elements_survive_a_flush_timer_of_one_millisecond(tmp_path):
    out = tmp_path / "total"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_threaded_environments_get_the_long_interval_and_others_are_kept():
    from apache_beam.transforms import environments

    pipeline = beam.Pipeline()
    _ = pipeline | beam.Create([1]) | beam.Map(str)
    threaded = environments.EmbeddedPythonGrpcEnvironment.default()
    proto = pipeline.to_runner_api(default_environment=threaded)
    plain = environments.EmbeddedPythonEnvironment.default().to_runner_api(None)
    proto.components.environments["other"].CopyFrom(plain)
    without_time_flush(proto)
    envs = proto.components.environments
    configs = [
        environments.EmbeddedPythonGrpcEnvironment.parse_config(e.payload.decode())
        for e in envs.values()
        if e.urn == threaded.to_runner_api(None).urn
    ]
    assert configs and all(c["data_buffer_time_limit_ms"] == NO_TIME_FLUSH_MS for c in configs)
    assert envs["other"] == plain
