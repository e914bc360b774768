# Two commands on a fresh machine:
#   make demo   install what is missing, then run the default (demo-world) study
#   make test   install what is missing, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
CORES  ?= 2
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: demo test lint install slurm-deps lme4-deps report dryrun clean-results

$(VENV)/.installed: pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the local CPU wheel; an unpinned torch pulls CUDA packages.
	# pip byte-compiles one file at a time; compileall on every core instead (10 s less on
	# 2 cores). Like pip, it skips files that do not compile (Python 2 test files in some
	# packages), so its exit status is not checked.
	$(BIN)/python -m pip install --quiet --no-compile torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-compile -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib src >/dev/null 2>&1 || true
	touch $@

$(VENV)/.lint-installed: $(VENV)/.installed requirements/lint.txt
	$(BIN)/python -m pip install --quiet -r requirements/lint.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/snakemake --profile workflow/profiles/local --cores $(CORES) --configfile config/config.yaml
	$(BIN)/snakemake --profile workflow/profiles/local --cores $(CORES) --configfile config/config.yaml --report results/report.html

dryrun: install
	$(BIN)/snakemake --profile workflow/profiles/local --configfile config/config.yaml -n

# Debian packages some tests need: $(call apt-install,PACKAGES,WHO) installs PACKAGES when
# possible (root with apt-get; apt-get update when the first try fails) and otherwise, or
# if the install fails, says that WHO will be skipped (the tests skip themselves then).
define apt-install
if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then exit 0; fi; \
export DEBIAN_FRONTEND=noninteractive; \
inst="apt-get install -y -q --no-install-recommends $(1)"; \
echo "installing $(1) for $(2)"; \
$$inst >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $$inst >/dev/null 2>&1; } || \
echo "could not install $(1): $(2) will be skipped"
endef

# The SLURM integration test (tests/test_slurm.py) starts a one-node cluster; it needs
# slurm-wlm and munge.
SLURM_PKGS := slurm-wlm munge
slurm-deps:
	@if command -v sbatch >/dev/null 2>&1 && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && \
	   [ -x /usr/sbin/munged ]; then exit 0; fi; \
	$(call apt-install,$(SLURM_PKGS),the SLURM test)

# tests/test_lme4.py fits the mixed models with R's lme4 as a reference.
LME4_PKGS := r-base-core r-cran-lme4
lme4-deps:
	@if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(lme4)' >/dev/null 2>&1; then exit 0; fi; \
	$(call apt-install,$(LME4_PKGS),the lme4 tests)

# Lint before the tests: ruff (pyproject [tool.ruff]) on the Python, snakefmt on the
# workflow, and Snakemake's own linter on each shipped config (together they define every
# rule); `snakemake --lint` exits 1 when it prints any finding.
lint: $(VENV)/.lint-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/snakefmt --check Snakefile workflow/rules
	@for c in config/*.yaml; do \
	  echo "$(BIN)/snakemake --lint --configfile $$c"; \
	  $(BIN)/snakemake --lint --configfile $$c || exit 1; \
	done

test: install slurm-deps lme4-deps lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

clean-results:
	rm -rf results/*/ results/report.html
