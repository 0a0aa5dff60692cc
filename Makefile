# Lightr developer tasks (GNU make 4.3). `make help` lists the targets.
# `make test` is the whole test suite and the one test command to run;
# .ci/run calls check-generate, lint and test from here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO ?= go
BIN := $(CURDIR)/bin
LIGHTR := $(BIN)/lightr
PKG := ./cmd/lightr

# Version stamped into the binary (main.version); "dev" outside a git checkout.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN)/golangci-lint

# What `go generate ./...` owns; check-generate fails if it changes any of it.
GENERATED_PATHS := ent graph schema.graphql gqlgen.yml

# -race needs cgo (gcc is on the machine); only `build` turns cgo off.
TEST_FLAGS := -race -shuffle=on -count=1 -timeout 20m
FUZZTIME ?= 10s

.PHONY: help run build generate check-generate fmt vet lint lint-install \
	test test-short integration bench fuzz clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{ printf "  %-15s %s\n", $$1, $$2 }'

run: build ## Build bin/lightr and serve a demo setup (./demo, loopback ports).
	$(LIGHTR) demo

build: ## Build a static bin/lightr stamped with the git version.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(LIGHTR) $(PKG)

generate: ## Regenerate Ent and gqlgen code (go generate ./...).
	$(GO) generate ./...

check-generate: generate ## Fail if generated code differs from the committed tree.
	@changes="$$(git status --porcelain --untracked-files=all -- $(GENERATED_PATHS))"; \
	if [ -n "$$changes" ]; then \
		echo "check-generate: 'go generate ./...' changed generated code;" \
			"run 'make generate' and commit the result:"; \
		echo "$$changes"; \
		git --no-pager diff --stat -- $(GENERATED_PATHS); \
		exit 1; \
	fi
	@if [ -n "$$(git status --porcelain -- go.mod go.sum)" ]; then \
		echo "check-generate: warning: go.mod/go.sum differ from HEAD" \
			"(go generate runs entc with -mod=mod; run 'go mod tidy')"; \
	fi
	@echo "check-generate: generated code is up to date"

fmt: lint-install ## Format the code: gofmt -s and goimports (local imports last).
	$(GOLANGCI_LINT) fmt ./...

vet: ## Run go vet.
	$(GO) vet ./...

lint: lint-install ## Run golangci-lint (installed into ./bin when missing).
	$(GOLANGCI_LINT) run ./...

# Installs the pinned golangci-lint unless ./bin already has that version.
lint-install:
	@if [ "$$($(GOLANGCI_LINT) version --short 2>/dev/null)" != "$(GOLANGCI_LINT_VERSION:v%=%)" ]; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(BIN)"; \
		GOBIN=$(BIN) $(GO) install \
			github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

test: ## Run the whole test suite (race detector, shuffled, uncached).
	$(GO) test $(TEST_FLAGS) ./...

test-short: ## Run the quick tests only (-short, no race detector).
	$(GO) test -short -count=1 ./...

# The end-to-end suite (STYLE.md 16) is part of `make test`; this target
# runs only it, from ./e2e, once that folder exists.
integration: ## Run only the end-to-end suite in ./e2e (also part of `make test`).
	@if [ -d e2e ]; then \
		$(GO) test $(TEST_FLAGS) ./e2e/...; \
	else \
		echo "integration: no ./e2e yet; nothing to run"; \
	fi

bench: ## Run the benchmarks (bench/Makefile; a no-op without it).
	@if [ -f bench/Makefile ]; then \
		$(MAKE) -C bench; \
	else \
		echo "bench: no bench/Makefile yet; nothing to run"; \
	fi

# Runs every Fuzz* target for FUZZTIME each (make fuzz FUZZTIME=1m). The
# corpus in testdata/fuzz is replayed by `make test` anyway.
fuzz: ## Fuzz each Fuzz* target for FUZZTIME (10s).
	@dirs="$$({ grep -rl --include='*_test.go' --exclude-dir=.git --exclude-dir=bin \
		--exclude-dir=demo -E '^func Fuzz[A-Z0-9_]' . || true; } | xargs -r -n1 dirname | sort -u)"; \
	if [ -z "$$dirs" ]; then echo "fuzz: no Fuzz targets"; exit 0; fi; \
	for d in $$dirs; do \
		list="$$($(GO) test -list '^Fuzz' "$$d")"; \
		for f in $$(grep '^Fuzz' <<<"$$list" || true); do \
			echo "== fuzz $$d $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) "$$d"; \
		done; \
	done

clean: ## Remove bin/ (binaries, golangci-lint), demo/ and coverage files.
	rm -rf $(BIN) demo coverage.out coverage.html cover.out *.coverprofile
