# Sibyl: the commands a user and CI run. `make demo` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
SIBYL := .build/$(CONFIG)/sibyl
SHARED ?= ../shared
APT_PACKAGES := libopenblas-dev libhdf5-dev hdf5-tools libsodium-dev libpng-dev pkg-config

# OpenBLAS picks its kernels for the CPU it runs on unless OPENBLAS_CORETYPE names a core. This project's
# machines set OPENBLAS_CORETYPE=Haswell (AVX2 kernels on an AVX-512 CPU), which costs ResNet-32 training
# 22-24% more CPU per step (Experiments/bench/README.md): the project's commands unset it, so that sibyl fits
# OpenBLAS's kernels to the CPU itself (BLASInfo.fitCoreToCPU: OpenBLAS's own choice, or the CPU's vector class
# where the library does not know the model).
unexport OPENBLAS_CORETYPE

.PHONY: setup venv ray torch build test bench netem data demo clean

# Python tools in a virtual environment of the project's own (.venv): the second plan reader and the JSON
# Schema check the tests run (Tests/python/requirements.txt). Reinstalled when the requirements change.
VENV := .venv
PYTHON := $(VENV)/bin/python

# Idempotent: installs only what is missing (needs root or sudo; CI and the dev machines are root).
setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "setup: system libraries present ($(APT_PACKAGES))"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: Tests/python/requirements.txt
	@test -x $(PYTHON) || python3 -m venv $(VENV) || { echo "python3 -m venv failed: install python3 with venv support (Debian: apt-get install python3-venv)"; exit 1; }
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r Tests/python/requirements.txt
	@touch $@

# Ray for `sibyl plan --executor ray`, in the same .venv (a separate step: a failed Ray install must not stop
# the rest of the tests, which then report why).
ray: $(VENV)/.ray-installed

$(VENV)/.ray-installed: $(VENV)/.installed Tests/python/requirements-ray.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r Tests/python/requirements-ray.txt
	@touch $@

build: setup
	$(SWIFT) build -c $(CONFIG)

# Crypto and training kernels are far too slow in debug builds: tests run in release mode. The CLI tests
# run the built binary, so it is built first. Every test is XCTest: Swift Testing's runner is switched off
# so that the last line is XCTest's summary.
# The Ray executor's tests need a real Ray cluster: Tests/ray/cluster.sh installs Ray (make ray) and starts a
# local head for the run (stopped afterwards, whatever the tests did); if either fails the Ray tests fail with
# the reason.
RAY_STATE := .build/ray-cluster.env
test: setup venv
	$(SWIFT) build -c $(CONFIG) --product sibyl
	@trap 'bash Tests/ray/cluster.sh stop $(RAY_STATE)' EXIT; trap 'exit 130' INT TERM; \
	bash Tests/ray/cluster.sh start $(RAY_STATE); \
	set -a; source $(RAY_STATE); set +a; \
	$(SWIFT) test -c $(CONFIG) --disable-swift-testing

data: setup
	bash Datasets/fetch.sh

# PyTorch for the side-by-side training benchmark (large: several GB of wheels), in its own .venv-torch so that
# `make test` never downloads it. `make bench` uses it when it is there and says how to get it when not.
TORCH_VENV := .venv-torch
torch: $(TORCH_VENV)/.installed

$(TORCH_VENV)/.installed: Experiments/bench/requirements-torch.txt
	@test -x $(TORCH_VENV)/bin/python || python3 -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r Experiments/bench/requirements-torch.txt
	@touch $@

bench: build data
	@mkdir -p Experiments/bench Experiments/crypto
	bash Experiments/bench/side-by-side.sh --sibyl $(SIBYL) --torch-python $(TORCH_VENV)/bin/python \
	  --reference $(SHARED)/bench/torch_reference.py --out Experiments/bench/side-by-side.json
	$(SIBYL) bench crypto --json --out Experiments/crypto/bench.json
	@mkdir -p Experiments/reliability
	$(SIBYL) bench fuzz --plan Experiments/reliability/fuzz-plan --corpus Experiments/reliability/corpus \
	  --executions 10000000 --seconds 300 --out Experiments/reliability/fuzz.json
	SIBYL_BENCH=1 $(SWIFT) test -c $(CONFIG) --disable-swift-testing --filter ServeReliabilityBenchmarks

# `sibyl serve` and `sibyl query` over a real emulated link (400 Mbit/s each way, 40 ms RTT unless
# NETEM_ARGS says otherwise) between two network namespaces: netem where the kernel has it, else a
# user-space link (Experiments/communication-resnet32/README.md). Needs root and iproute2.
# make netem NETEM_ARGS="--images 1 --rtt-ms 40 --ot silent --relu ot"
NETEM_ARGS ?=
NETEM_OUT ?= Experiments/communication-resnet32/netem.json
netem: build data
	bash Experiments/communication-resnet32/netem.sh --sibyl $(SIBYL) --out $(NETEM_OUT) $(NETEM_ARGS)

demo: build data
	bash Experiments/demo.sh

clean:
	rm -rf .build $(VENV)
