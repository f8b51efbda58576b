# `make test` is the whole suite: it provides what the tests need (MariaDB,
# Chromium for the console's pages, stripe-mock for billing, Go tools), checks formatting, vet and
# staticcheck, runs every module's tests with the race detector against the
# real database, and fuzzes each parser briefly.

MODULES   := . ./plugins/sdk ./examples/suggestions ./examples/hotline
GOBIN     := $(shell go env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
FUZZTIME  ?= 3000x

.PHONY: test deps lint unit fuzz run build proto

test: deps lint unit fuzz

deps: $(STATICCHECK)
	@scripts/ensure-mariadb.sh
	@scripts/ensure-chromium.sh
	@scripts/ensure-stripe-mock.sh

$(STATICCHECK):
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./... && $(STATICCHECK) ./...) || exit 1; done
	@go vet -tags nodev ./cmd/...

# The SDK's harness (plugins/sdk/sdktest) runs plugins against a real host:
# this binary, with the dev engine that make build's bin/countycloud leaves out.
# Built -trimpath, as the tests that build binaries themselves do (README's
# tour from a mirror of the checkout, the nodev build): the compiled
# packages then do not depend on the checkout's path, and those builds
# reuse these instead of compiling the module again.
DEVBIN := $(CURDIR)/bin/countycloud-dev

# One go test over every module of the workspace, so that the small
# modules' packages run beside the root module's long ones, not after them.
unit:
	@go build -trimpath -o $(DEVBIN) ./cmd/countycloud
	@COUNTYCLOUD_BIN=$(DEVBIN) go test -race -count=1 -timeout 20m -parallel 4 $(MODULES:%=%/...)

fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

run:
	go run ./cmd/countycloud server -dev

# Production builds leave the dev engine out (see cmd/countycloud/devengine.go).
build:
	go build -tags nodev -o bin/countycloud ./cmd/countycloud

# The plugin protocol's generated code is committed; this regenerates it
# with Debian's protoc and pinned Go generators.
PROTOC_GEN_GO      := $(GOBIN)/protoc-gen-go
PROTOC_GEN_GO_GRPC := $(GOBIN)/protoc-gen-go-grpc

proto: $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
	@command -v protoc >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get install -y protobuf-compiler; else sudo apt-get install -y protobuf-compiler; fi; }
	cd plugins/sdk && PATH="$(GOBIN):$$PATH" protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative,require_unimplemented_servers=false proto/pluginv1/*.proto

$(PROTOC_GEN_GO):
	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6

$(PROTOC_GEN_GO_GRPC):
	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0
