# Two commands on a fresh machine:
#   make demo   install what is missing, then run the default (demo-world) study
#   make test   install what is missing, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
CORES  ?= 2
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: demo test install slurm-deps report dryrun clean-results

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

# The SLURM integration test (tests/test_slurm.py) starts a one-node cluster; it needs
# slurm-wlm and munge. Installed here when missing and possible (root with apt-get);
# otherwise, or if the install fails, that test skips itself with the reason.
SLURM_PKGS := slurm-wlm munge
slurm-deps:
	@if command -v sbatch >/dev/null 2>&1 && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && \
	   [ -x /usr/sbin/munged ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	inst="apt-get install -y -q --no-install-recommends $(SLURM_PKGS)"; \
	echo "installing $(SLURM_PKGS) for the SLURM test"; \
	$$inst >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && $$inst >/dev/null 2>&1; } || \
	echo "could not install $(SLURM_PKGS): the SLURM test will be skipped"

test: install slurm-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup

clean-results:
	rm -rf results/*/ results/report.html
