# Two commands set up everything on a fresh machine:
#   make up     a local control plane with the hooks, our CRD and an example applied
#   make test   every test: unit, golden, properties, and the e2e suite on a real control plane
PY      ?= python3
VENV    := .venv
PYTHON  := $(VENV)/bin/python
EXAMPLE ?= examples/pd-disagg.yaml
# Every control-plane component that builds from the Go module proxy here. Metacontroller does
# not (the proxy answers 403 for it; see tools/README.md), so it is not in this list.
COMPONENTS := kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwok-stages

.PHONY: install binaries up down test unit e2e crd golden bench

$(PYTHON): pyproject.toml
	$(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $(PYTHON)

install: $(PYTHON)

binaries:
	bash tools/build.sh $(COMPONENTS) >/dev/null

up: install binaries
	$(VENV)/bin/rbg up --example $(EXAMPLE)

down: install
	$(VENV)/bin/rbg down

unit: install
	$(PYTHON) -m pytest tests/unit

e2e: install binaries
	$(PYTHON) -m pytest tests/e2e

test: install binaries
	$(PYTHON) -m pytest tests

crd: install
	$(PYTHON) -m hooks.crd.generate > crds/rolebasedgroups.workloads.x-k8s.io.yaml

golden: install
	UPDATE_GOLDEN=1 $(PYTHON) -m pytest -q tests/unit/test_golden.py

bench: install
	$(PYTHON) bench/hook_latency.py
