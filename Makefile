# inventory-poller: build, test and demo on Debian/Ubuntu. `make help` lists the targets.
SWIFT        ?= swift
PYTHON       := $(CURDIR)/.build-venv/bin/python
RELEASE_FLAGS = -c release --static-swift-stdlib
# Generated completions and man page (`make completions`, `make man`).
SHARE         = .build/share
MAN_PAGE      = $(SHARE)/man/man1/inventory-poller.1
export CLOUD_INVENTORY_PYTHON := $(PYTHON)

.PHONY: help setup build release test test-deploy demo clean generate bench bench-smoke perf-gate perf-baseline deploy undeploy fuzz fuzz-build fuzz-smoke completions man

help:
	@echo "make demo     run the poller end to end against the bundled local AWS world"
	@echo "make test     run every test against real local peers (moto, IMDSv2, botocore)"
	@echo "make build    debug build"
	@echo "make release  release binary with the Swift runtime linked in (.build/release/inventory-poller)"
	@echo "make deploy TARGET='user@host[:port] ...' DB_NAME=name [SSH_PORT= SSH_KEY= SCHEDULE= FLAGS= EXTRA_ENV= ONCE_PER= METRICS_FILE= KEEP_OUTPUT=1] (DB_URI from the environment, else asked for; docs/deployment.md)"
	@echo "make undeploy TARGET='user@host[:port] ...' [PURGE=1]"
	@echo "make test-deploy  deploy into a debootstrapped Debian root over SSH and check every step"
	@echo "make bench    benchmark against the boto3 original and the AWS CLI; writes docs/benchmarks.md"
	@echo "make perf-gate      instruction counts (callgrind) of every path against bench/perf-baseline.json; >5% more fails"
	@echo "make perf-baseline  take those counts as the new baseline (commit it with the reason)"
	@echo "make fuzz     libFuzzer on every parser, FUZZ_SECONDS (120) each; summary in .build-fuzz/fuzz-summary.md"
	@echo "make setup    install build and test dependencies (apt, pip venv); idempotent"
	@echo "make generate regenerate the EC2 model and endpoint tables from botocore"
	@echo "make completions  bash, zsh and fish completion scripts in .build/share/completions"
	@echo "make man     the man page in .build/share/man/man1 (swift-argument-parser's generate-manual plugin)"
	@echo "make clean    remove build products"
	@echo "make kill-test  kill -9 the poller at random (KILL_RUNS=50, KILL_SEED=9) and check the database's history"

setup:
	@scripts/setup.sh

build:
	$(SWIFT) build

release:
	$(SWIFT) build $(RELEASE_FLAGS)

# A hang guard around the run: a stuck test fails with the tests still running and their
# threads' backtraces (scripts/test-watch.py; TEST_HANG_LIMIT seconds, default 1800).
test: setup
	$(SWIFT) build --build-tests
	$(PYTHON) scripts/test-watch.py -- $(SWIFT) test --skip-build

demo: setup
	$(SWIFT) build --product inventory-poller
	@scripts/demo.sh

bench: setup release
	$(PYTHON) bench/run.py --poller .build/release/inventory-poller --out docs/benchmarks.md

# What CI runs: one small pass with the debug build, to prove the benchmark still works.
bench-smoke: setup
	$(SWIFT) build --product inventory-poller
	$(PYTHON) bench/run.py --poller $$($(SWIFT) build --show-bin-path)/inventory-poller --out .build/bench-smoke.md --sizes 1000 --runs 1 --db-sizes 1000 --no-aws-cli --org-accounts 20

# The performance gate (docs/benchmarks.md, "Performance gate"): the release binary's
# instructions under callgrind on fixed inputs, each path against the committed baseline.
# Instructions, not seconds, so a busy machine cannot fail it; more than 5% on a path does.
PERF_BASELINE = bench/perf-baseline.json
perf-gate: setup release
	$(PYTHON) bench/perf_gate.py --poller .build/release/inventory-poller --baseline $(PERF_BASELINE)

# A deliberate step: commit the file it writes, with the reason in the message.
perf-baseline: setup release
	$(PYTHON) bench/perf_gate.py --poller .build/release/inventory-poller --baseline $(PERF_BASELINE) --update

# Fuzzing: one libFuzzer binary (Sources/InventoryFuzz), FUZZ_TARGET picks the parser.
# Tests/Fuzz/run.sh runs each target in turn; FUZZ_TARGETS= limits the list. SwiftPM passes the
# two sanitizers as separate -sanitize= flags, and the Swift frontend then drops the coverage
# instrumentation of `fuzzer`; the -Xswiftc flag (last on the line) keeps both.
FUZZ_SECONDS ?= 120
FUZZ_BINARY   = .build-fuzz/release/InventoryFuzz
fuzz-build:
	$(SWIFT) build -c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
	  --product InventoryFuzz --scratch-path .build-fuzz

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) Tests/Fuzz/run.sh $(FUZZ_BINARY) $(FUZZ_TARGETS)

# What CI runs: ten seconds a target.
fuzz-smoke: fuzz-build
	FUZZ_SECONDS=10 Tests/Fuzz/run.sh $(FUZZ_BINARY) $(FUZZ_TARGETS)

# Deployment (deploy/provision.sh). The settings reach the script in its environment (make
# exports what is set on its command line), never through a shell line, so a value is checked
# before anything runs. The script checks every input first, then builds (release when BINARY
# is the default, and the man page), then deploys to each target. DB_URI comes from the
# environment, never an argument: without it, on a terminal, the script asks (input hidden).
BINARY   ?= .build/release/inventory-poller
SSH_PORT ?= 22
export DB_URI

deploy:
	@deploy/provision.sh deploy --from-make --make "$(MAKE)" --man "$(MAN_PAGE)" \
	  $(if $(filter .build/release/inventory-poller,$(BINARY)),--build release) --build "$(MAN_PAGE)"

undeploy:
	@deploy/provision.sh undeploy --from-make

test-deploy: setup release
	deploy/test-deploy.sh

# Completion scripts and the man page come from the command's own definitions (its enums give
# the values), generated into .build/share (gitignored): nothing generated is committed, so
# nothing can drift from the binary. Hosts get the completions from the installed binary
# itself (deploy/provision.sh) and the man page from here.
completions:
	$(SWIFT) build --product inventory-poller
	@mkdir -p $(SHARE)/completions
	@bin=$$($(SWIFT) build --show-bin-path)/inventory-poller; \
	  $$bin --generate-completion-script bash > $(SHARE)/completions/inventory-poller.bash && \
	  $$bin --generate-completion-script zsh > $(SHARE)/completions/_inventory-poller && \
	  $$bin --generate-completion-script fish > $(SHARE)/completions/inventory-poller.fish
	@echo "completions in $(SHARE)/completions (bash: inventory-poller.bash, zsh: _inventory-poller, fish: inventory-poller.fish)"

# The generate-manual command plugin builds the package (debug: the page does not depend on
# the configuration, and the debug build is usually there already) and runs the binary's
# --experimental-dump-help. Blank lines inside help text become paragraph breaks (.Pp).
# Remade only when a source changed, so repeated deploys do not rebuild it.
man: $(MAN_PAGE)
$(MAN_PAGE): $(shell find Sources -name '*.swift') Package.swift
	$(SWIFT) package plugin generate-manual --configuration debug
	@mkdir -p $(dir $(MAN_PAGE))
	sed 's/^$$/.Pp/' .build/plugins/GenerateManual/outputs/InventoryPoller/inventory-poller.1 > $(MAN_PAGE)
	@echo "man page: $(MAN_PAGE) (man -l $(MAN_PAGE))"

generate: setup
	$(PYTHON) scripts/generate-ec2-model.py
	$(PYTHON) scripts/generate-endpoints.py

clean:
	rm -rf .build .build-venv

# The crash-consistency test (issue 9): KILL_RUNS runs killed at random with the database up
# and down, then clean runs, then an independent oracle (Tests/Support/kill_oracle.py).
.PHONY: kill-test
KILL_RUNS ?= 50
KILL_WRITERS ?= 2
kill-test: setup
	$(SWIFT) build --product inventory-poller
	$(PYTHON) Tests/Support/kill_test.py --binary "$$($(SWIFT) build --show-bin-path)/inventory-poller" \
	  --runs $(KILL_RUNS) --writers $(KILL_WRITERS) $(if $(KILL_SEED),--seed $(KILL_SEED))
