"""sgns: word2vec skip-gram with negative sampling, from a Beam pipeline to a torchrun trainer.

Install for use:          pip install .            (add [gcp] or [aws] for cloud filesystems,
                                                    [dask] for Beam's DaskRunner)
Install for development:  make install             (keeps an existing torch; see Makefile)
"""

from setuptools import find_packages, setup

setup(
    name="sgns",
    version="0.1.0",
    description="word2vec skip-gram with negative sampling: Beam preprocessing, PyTorch training",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The Beam pipeline's folder is pipeline/ (the layout); its import name is sgns.pipeline, since
    # a generic top-level name like "pipeline" could shadow, or be shadowed by, another package.
    packages=find_packages(include=["sgns", "sgns.*"])
    + ["sgns." + name for name in find_packages(include=["pipeline", "pipeline.*"])],
    package_dir={"sgns.pipeline": "pipeline"},
    # the native CPU engine's C source, compiled at first use (sgns/train/native)
    package_data={"sgns.train.native": ["*.c", "*.h"]},
    install_requires=[
        "apache-beam>=2.77",
        "numpy>=1.24",
        "pyarrow>=14",
        # Any torch a user already has that is >= 2.1 is kept; `make install` installs the
        # CPU build 2.13.0 first when there is none, so pip never pulls CUDA wheels by surprise.
        "torch>=2.1",
        "tqdm>=4.60",
        "matplotlib>=3.6",
    ],
    extras_require={
        "gcp": ["apache-beam[gcp]>=2.77"],
        "aws": ["apache-beam[aws]>=2.77"],
        # Beam's DaskRunner (sgns-preprocess --runner DaskRunner) and a dask.distributed client
        "dask": ["apache-beam[dask]>=2.77", "dask[distributed]>=2024.4.2"],
        "tensorboard": ["tensorboard>=2.10"],
        # the tests run the pipeline on a local Dask cluster and against a local S3 server (moto)
        "dev": [
            "pytest>=7",
            "pytest-xdist>=3",  # make test: 2 processes
            "ruff>=0.4",
            "gensim>=4.3",
            "scipy>=1.10",
            "dask[distributed]>=2024.4.2",
            "apache-beam[aws]>=2.77",
            "moto[s3,server]>=5",
            "mkdocs>=1.6",  # make docs, and tests/test_docs.py builds the site
        ],
    },
    entry_points={
        "console_scripts": [
            # (each imports its command's module in one line's reach of Ctrl-C: sgns.commands)
            "sgns-preprocess=sgns.commands:preprocess",
            "sgns-train=sgns.commands:train",
            "sgns-export=sgns.commands:export",
            "sgns-eval=sgns.commands:evaluate",
            "sgns-synth=sgns.commands:synth",
            "sgns-report=sgns.commands:report",
        ]
    },
)
