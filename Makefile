# Two commands set up everything on a fresh machine:
#   make up     a local control plane with the hooks, our CRD and an example applied
#   make test   every test: unit, golden, properties, and the e2e suite on a real control plane
PY      ?= python3
VENV    := .venv
PYTHON  := $(VENV)/bin/python
EXAMPLE ?= examples/pd-disagg.yaml
# Every control-plane component that builds from the Go module proxy here. Metacontroller does
# not (the proxy answers 403 for it; see tools/README.md), so it is not in this list: give a
# binary built by hand with RBG_METACONTROLLER=/path/to/metacontroller (README.md).
COMPONENTS := kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwok-stages

.PHONY: install binaries images up down test unit e2e crd golden bench lint docs

$(PYTHON): pyproject.toml
	$(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $(PYTHON)

install: $(PYTHON)

binaries:
	bash tools/build.sh $(COMPONENTS) >/dev/null

# Container images without a registry (tools/README.md): the hook server's image from the
# Dockerfile, a pause image, busybox and their Debian bases, as OCI archives for
# `ctr -n k8s.io images import`. Needs root; the log's last lines name each tag and archive.
images:
	bash tools/images.sh >/dev/null

# The real node's Debian packages (containerd, runc, CNI plugins, iptables, conntrack), installed
# where they are missing and root can; elsewhere the real node's tests say why they were skipped.
host-packages: install
	@missing=$$(for p in $$($(PYTHON) -c 'from localcluster.realnode import DEBIAN_PACKAGES; print(DEBIAN_PACKAGES)'); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing the real node's packages: $$missing"; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; } >/dev/null \
	    || echo "could not install $$missing: the real node's tests will say so"; \
	fi

up: install binaries
	$(VENV)/bin/rbg up --example $(EXAMPLE)

down: install
	$(VENV)/bin/rbg down

unit: install
	$(PYTHON) -m pytest tests/unit

e2e: install binaries
	$(PYTHON) -m pytest tests/e2e

# The documentation site, into site/; --strict fails on a broken link, and the reference pages'
# generator (docs/_gen/reference.py) fails on an undocumented field, constant or metric.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

# The import contracts of pyproject.toml ([tool.importlinter]): imports only go down.
lint: install
	$(VENV)/bin/lint-imports --no-cache

# The last line says whether the Metacontroller tier ran, and its LWS tests (which need both binaries).
test: install binaries host-packages lint docs
	@$(PYTHON) -m pytest tests; rc=$$?; \
	if [ -n "$$RBG_METACONTROLLER" ]; then mc="Metacontroller tier: run with $$RBG_METACONTROLLER"; \
	else mc="Metacontroller tier: NOT RUN, its tests were skipped: RBG_METACONTROLLER is not set (README.md)"; fi; \
	if [ -z "$$RBG_LWS_CONTROLLER" ]; then lws="LWS tests: NOT RUN, skipped: RBG_LWS_CONTROLLER is not set"; \
	elif [ -n "$$RBG_METACONTROLLER" ]; then lws="LWS tests: run with $$RBG_LWS_CONTROLLER"; \
	else lws="LWS tests: NOT RUN, they need the Metacontroller tier"; fi; \
	echo "$$mc; $$lws"; \
	exit $$rc

# Every CRD file in crds/, from the pydantic models in hooks/api/.
crd: install
	$(PYTHON) -m rbgcli.crdgen --out crds/

golden: install
	UPDATE_GOLDEN=1 $(PYTHON) -m pytest -q tests/unit/test_golden.py

bench: install
	$(PYTHON) bench/hook_latency.py
	$(PYTHON) bench/convert_latency.py
