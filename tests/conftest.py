"""Fixtures more than one test module shares."""

import pytest


@pytest.fixture(scope="session")
def cluster():
    """A local Dask cluster of 2 worker processes (one thread each), started once per session
    for every test that runs the pipeline on DaskRunner."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster
