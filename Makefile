# kfsidebar's builds. `make dist` makes the release binaries in dist/:
# linux/amd64 and windows/amd64, both with cgo (the embedded SQLite is
# mattn/go-sqlite3); the Windows one is cross-compiled with Debian's
# gcc-mingw-w64-x86-64. The version is stamped into the binary and printed
# by `kfsidebar version`.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
DIST    ?= dist
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)
BUILD   := $(GO) build -trimpath -ldflags '$(LDFLAGS)'
MINGW   ?= x86_64-w64-mingw32-gcc

.PHONY: build test dist dist-linux dist-windows vet-platforms clean

# build: kfsidebar for this machine, in the current directory. It refuses
# without cgo: go-sqlite3 is C, and a build without a C compiler has no
# SQLite (kfsidebar would say so at start; docs/INSTALL.md).
build:
	@test "$$($(GO) env CGO_ENABLED)" = 1 || { echo "kfsidebar needs a C compiler for its SQLite database (cgo is off: no gcc found)." >&2; \
	  echo "  Debian/Ubuntu: sudo apt install gcc; Windows: MinGW-w64 (MSYS2: pacman -S mingw-w64-x86_64-gcc); macOS: xcode-select --install" >&2; \
	  echo "  or download a release build: docs/INSTALL.md, Getting kfsidebar." >&2; exit 1; }
	$(BUILD) -o kfsidebar ./cmd/kfsidebar

# test: what CI runs (.ci/run adds the packages the tests need).
test:
	$(GO) test -race ./...

dist: dist-linux dist-windows
	cd $(DIST) && sha256sum kfsidebar-$(VERSION)-* > SHA256SUMS-$(VERSION)
	@echo "release $(VERSION) in $(DIST)/:" && ls -l $(DIST)

dist-linux:
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(BUILD) -o $(DIST)/kfsidebar-$(VERSION)-linux-amd64 ./cmd/kfsidebar

# dist-windows needs the MinGW cross compiler: sudo apt install gcc-mingw-w64-x86-64
dist-windows:
	@command -v $(MINGW) >/dev/null || { echo "$(MINGW) not found: sudo apt install gcc-mingw-w64-x86-64" >&2; exit 1; }
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=$(MINGW) $(BUILD) -o $(DIST)/kfsidebar-$(VERSION)-windows-amd64.exe ./cmd/kfsidebar

# vet-platforms type-checks the platform files (trust stores, proxy
# settings) for Windows and macOS, tests included; macOS without cgo, as
# no macOS C toolchain is at hand here.
vet-platforms:
	GOOS=windows GOARCH=amd64 $(GO) vet ./certs ./cmd/... ./proxy/... ./internal/...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./certs ./cmd/... ./proxy/... ./internal/...

clean:
	rm -rf $(DIST)
