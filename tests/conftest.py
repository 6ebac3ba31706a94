"""Fixtures more than one test module shares."""

import signal

import pytest

# A test run started in the background of a non-interactive shell (`make test &`, some CI
# runners) inherits SIGINT ignored, and so would every command the tests start: Python then
# installs no KeyboardInterrupt for it, as a user's `nohup sgns-train &` should get. The tests
# that send Ctrl-C test a foreground command, so the commands they start get SIGINT's default.
signal.signal(signal.SIGINT, signal.default_int_handler)

# `make test` runs the suite in 2 processes (pytest-xdist, --dist loadgroup). The tests that start
# many processes of their own (torchrun's ranks, the Dask cluster's workers) run one after another
# in one of them: never two of them side by side on 2 cores, and one Dask cluster, not two.
CROWDED_MODULES = (  # torchrun's ranks (with deadlines), a LocalCluster of their own
    "test_train_distributed.py", "test_train_online.py", "test_end_to_end.py",
    "test_pipeline_shuffle_modes.py",
)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in CROWDED_MODULES or "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("crowded"))


@pytest.fixture(scope="session")
def cluster():
    """A local Dask cluster of 2 worker processes (one thread each), started once per session
    for every test that runs the pipeline on DaskRunner."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster
