# mesaopt — see README.md.
GO      ?= go
BIN     := bin
PKGS    := ./...
SEED    ?= 1
ROUNDS  ?= 3

.PHONY: all build run test test-short test-manifests race bench bench-peers proto proto-check lint clean

all: build

build:
	$(GO) build -o $(BIN)/mesaopt ./cmd/mesaopt
	$(GO) build -o $(BIN)/mesactl ./cmd/mesactl

## run: the main job — the door-maze experiment on an embedded etcd with local worker processes.
run: build
	./$(BIN)/mesaopt run -f experiments/doors.yaml

## test: every test, including the multi-process integration and determinism tests.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 15m $(PKGS)
	cd deploy/kubernetes && $(GO) test -count=1 ./...

## test-short: the quick loop while editing: skips the heavy multi-process suites.
test-short:
	$(GO) test -short -count=1 -timeout 10m $(PKGS)

## test-manifests: renders deploy/kubernetes with kustomize and checks the objects (its own module; no cluster).
test-manifests:
	cd deploy/kubernetes && $(GO) test -count=1 ./...

## race: the race detector over the packages that run goroutines.
race:
	$(GO) test -race -count=1 -timeout 20m ./coordinator/... ./worker/... ./lineage/... ./internal/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

## bench-peers: zero-cost dispatch through 2 worker processes and the GA step, against DEAP
## (multiprocessing.Pool(2).map; Debian's python3-deap, installed here when missing), A B A B.
bench-peers:
	@if ! /usr/bin/python3 -c 'import deap' 2>/dev/null; then \
		echo "bench-peers: installing Debian's python3-deap (apt-get update, then apt-get install)"; \
		sudo=; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y python3-deap; \
	fi
	BIN=$(BIN) internal/peers/peers.sh $(ROUNDS)

proto:
	cd proto && $(GO) tool buf lint && $(GO) tool buf generate

## proto-check: fails when the committed generated code is stale.
proto-check: proto
	git diff --exit-code -- proto/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	cd deploy/kubernetes && $(GO) vet ./... && $$($(GO) -C ../.. tool -n staticcheck) ./...
	cd proto && $(GO) tool buf lint

clean:
	rm -rf $(BIN) mesaopt-data
