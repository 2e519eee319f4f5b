# inventory-poller: build, test and demo on Debian/Ubuntu. `make help` lists the targets.
SWIFT        ?= swift
PYTHON       := $(CURDIR)/.build-venv/bin/python
RELEASE_FLAGS = -c release --static-swift-stdlib
export CLOUD_INVENTORY_PYTHON := $(PYTHON)

.PHONY: help setup build release test demo clean generate bench bench-smoke

help:
	@echo "make demo     run the poller end to end against the bundled local AWS world"
	@echo "make test     run every test against real local peers (moto, IMDSv2, botocore)"
	@echo "make build    debug build"
	@echo "make release  release binary with the Swift runtime linked in (.build/release/inventory-poller)"
	@echo "make bench    benchmark against the boto3 original and the AWS CLI; writes docs/benchmarks.md"
	@echo "make setup    install build and test dependencies (apt, pip venv); idempotent"
	@echo "make generate regenerate the EC2 model table from botocore"
	@echo "make clean    remove build products"

setup:
	@scripts/setup.sh

build:
	$(SWIFT) build

release:
	$(SWIFT) build $(RELEASE_FLAGS)

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: setup
	$(SWIFT) build --product inventory-poller
	@scripts/demo.sh

bench: setup release
	$(PYTHON) bench/run.py --poller .build/release/inventory-poller --out docs/benchmarks.md

# What CI runs: one small pass with the debug build, to prove the benchmark still works.
bench-smoke: setup
	$(SWIFT) build --product inventory-poller
	$(PYTHON) bench/run.py --poller $$($(SWIFT) build --show-bin-path)/inventory-poller --out .build/bench-smoke.md --sizes 1000 --runs 1 --db-size 1000

generate: setup
	$(PYTHON) scripts/generate-ec2-model.py

clean:
	rm -rf .build .build-venv
