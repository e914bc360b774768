# Two commands on a fresh machine:
#   make demo   install what is missing, then run the default (demo-world) study
#   make test   install what is missing, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
CORES  ?= 2
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: demo test install report dryrun clean-results

$(VENV)/.installed: pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the local CPU wheel; an unpinned torch pulls CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/snakemake --profile workflow/profiles/local --cores $(CORES) --configfile config/config.yaml
	$(BIN)/snakemake --profile workflow/profiles/local --cores $(CORES) --configfile config/config.yaml --report results/report.html

dryrun: install
	$(BIN)/snakemake --profile workflow/profiles/local --configfile config/config.yaml -n

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

clean-results:
	rm -rf results/*/ results/report.html
