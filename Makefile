# mesaopt — see README.md.
GO      ?= go
BIN     := bin
PKGS    := ./...
SEED    ?= 1
ROUNDS  ?= 3

DOCKER  ?= docker
# The images of deploy/: mesaopt's, and an etcd built from the etcd server
# module mesaopt requires (for machines where no image can be pulled).
IMAGE      ?= mesaopt:dev
ETCD_VER   := $(shell $(GO) list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3 2>/dev/null)
ETCD_LOCAL ?= mesaopt-etcd:$(ETCD_VER)
STATIC  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w'

.PHONY: all build run test test-short test-manifests race bench bench-peers proto proto-check lint clean image etcd-image compose-secrets deploy-test

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

## race: the race detector over the packages that run goroutines (the coordinator's tests take
## about 12 minutes under it on 2 busy cores: the timeout leaves room for a slower machine).
race:
	$(GO) test -race -count=1 -timeout 45m ./coordinator/... ./worker/... ./lineage/... ./internal/...

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

## image: the container image $(IMAGE): static mesaopt and mesactl in FROM scratch (deploy/Containerfile).
image:
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image
	$(STATIC) -o $(BIN)/image/mesaopt ./cmd/mesaopt
	$(STATIC) -o $(BIN)/image/mesactl ./cmd/mesactl
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt $(BIN)/image/; else : > $(BIN)/image/ca-certificates.crt; fi
	$(DOCKER) build -q -f deploy/Containerfile -t $(IMAGE) $(BIN)/image
	@$(DOCKER) image inspect -f '$(IMAGE): {{.Size}} bytes' $(IMAGE)

## etcd-image: $(ETCD_LOCAL), the etcd server of go.etcd.io/etcd/server/v3 in FROM scratch (deploy/etcd.Containerfile).
etcd-image:
	rm -rf $(BIN)/etcd-image && mkdir -p $(BIN)/etcd-image/data
	$(STATIC) -o $(BIN)/etcd-image/etcd go.etcd.io/etcd/server/v3
	$(DOCKER) build -q -f deploy/etcd.Containerfile -t $(ETCD_LOCAL) $(BIN)/etcd-image

## compose-secrets: deploy/secrets — certificates (mesaopt certs init) and a gossip key for deploy/compose.yaml.
compose-secrets: build
	deploy/secrets.sh ./$(BIN)/mesaopt deploy

## deploy-test: the compose cluster on this Docker Engine under kills, partitions, pauses and replacement
## (deploy/deploy_test.go); skipped with a message where no Docker Engine answers.
deploy-test:
	@if ! $(DOCKER) info >/dev/null 2>&1; then echo "deploy-test: SKIPPED: no Docker Engine answers ($(DOCKER) info failed)"; exit 0; fi; \
	$(MAKE) --no-print-directory build image etcd-image && \
	MESAOPT_DEPLOY_TEST=1 MESAOPT_IMAGE=$(IMAGE) ETCD_IMAGE=$(ETCD_LOCAL) $(GO) test -count=1 -v -timeout 15m -run '^TestCompose' ./deploy/; \
	rc=$$?; deploy/teardown.sh mesaopt-deploytest; exit $$rc

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
