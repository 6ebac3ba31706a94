# The two commands a newcomer needs:  `make demo` (the main job on a built-in corpus) and
# `make test` (the test suite). Both install what is missing first.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
STAMP := .make/installed-$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: install test test-fast lint docs demo bench bench-preprocess bench-train gpu-check gpu-check-data clean

# torch: an existing install is kept. Without one, ask for the CPU build 2.13.0 explicitly,
# because a bare `torch` requirement makes pip download several GB of CUDA wheels.
install:
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install "torch==2.13.0"
	$(PIP) install -e ".[dev]"
	@mkdir -p .make && touch $(STAMP)

$(STAMP): setup.py
	$(MAKE) install

test: $(STAMP)
	$(PYTHON) -m pytest -q -n 2 --dist loadgroup --durations=15

test-fast: $(STAMP)
	$(PYTHON) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

# The documentation site (docs/, mkdocs.yml) into site/, offline, warnings as errors. The command
# reference, docs/commands.md, is first written again from the commands' parsers.
docs: $(STAMP)
	$(PYTHON) scripts/commands_doc.py
	$(PYTHON) -m mkdocs build --strict --site-dir site

# The main job on a built-in corpus: synth -> Beam -> torchrun -> eval -> report (scripts/demo.sh).
demo: $(STAMP)
	PYTHON=$(PYTHON) bash scripts/demo.sh demo

# Speed and quality against gensim on the shared dev corpus; each script appends its run log to
# benchmarks/log/ (BENCHMARKS.md, the results page, is updated from it by hand).
# Training data gets 5 passes (a fresh subsampling and window draw per epoch, as gensim does);
# 3 rounds (seeds 1-3) of gensim, word2vec.c (the `word2vec` package compiles its source: a
# benchmark-only dependency, installed here) and the native engine's two modes on 1 and 2 threads.
CORPUS ?= ../shared/corpora/dev-corpus.txt.gz
bench: bench-preprocess bench-train
bench-preprocess: $(STAMP)
	$(PYTHON) benchmarks/bench_preprocess.py --corpus $(CORPUS)
bench-train: $(STAMP)
	@command -v word2vec >/dev/null || $(PIP) install --no-deps "word2vec==0.11.1"
	$(PYTHON) benchmarks/bench_train.py --corpus $(CORPUS) --preprocess-args "--passes 5" \
		--systems native:group,native:pair --threads 1,2 --word2vec-c auto --repeat 3

# On a machine with a CUDA GPU (no install step: such a machine may have no network). Without
# CUDA it says it skipped and exits 0. Its data comes from `make gpu-check-data` (benchmarks/gpu_check.py).
gpu-check:
	$(PYTHON) benchmarks/gpu_check.py
gpu-check-data: $(STAMP)
	mkdir -p gpu-check-data && cp $(CORPUS) gpu-check-data/dev-corpus.txt.gz
	$(PYTHON) -c "import gensim, os, shutil; d = os.path.join(os.path.dirname(gensim.__file__), 'test', 'test_data'); [shutil.copy(os.path.join(d, f), 'gpu-check-data') for f in ('wordsim353.tsv', 'simlex999.txt', 'questions-words.txt')]"

clean:
	rm -rf .make build dist *.egg-info .pytest_cache .ruff_cache demo bench-work gpu-check-data site
