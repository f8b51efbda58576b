# `make test` is the whole suite: it provides what the tests need (MariaDB,
# Go tools), checks formatting, vet and staticcheck, runs every module's
# tests with the race detector against the real database, and fuzzes each
# parser briefly.

MODULES   := . ./plugins/sdk
GOBIN     := $(shell go env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
FUZZTIME  ?= 50000x

.PHONY: test deps lint unit fuzz run build

test: deps lint unit fuzz

deps: $(STATICCHECK)
	@scripts/ensure-mariadb.sh

$(STATICCHECK):
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./... && $(STATICCHECK) ./...) || exit 1; done
	@go vet -tags nodev ./cmd/...

unit:
	@for m in $(MODULES); do (cd $$m && go test -race -count=1 -timeout 10m ./...) || exit 1; done

fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

run:
	go run ./cmd/countycloud server -dev

# Production builds leave the dev engine out (see cmd/countycloud/devengine.go).
build:
	go build -tags nodev -o bin/countycloud ./cmd/countycloud
