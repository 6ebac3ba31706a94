"""Fixtures more than one test module shares."""

import signal

import pytest

# A test run started in the background of a non-interactive shell (`make test &`, some CI
# runners) inherits SIGINT ignored, and so would every command the tests start: Python then
# installs no KeyboardInterrupt for it, as a user's `nohup sgns-train &` should get. The tests
# that send Ctrl-C test a foreground command, so the commands they start get SIGINT's default.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def cluster():
    """A local Dask cluster of 2 worker processes (one thread each), started once per session
    for every test that runs the pipeline on DaskRunner."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster
