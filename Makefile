# kfsidebar's builds. `make dist` makes the release in dist/, on Linux:
#   - linux/amd64: the program, and a .deb (dpkg-deb) that installs it with
#     a menu entry starting the tray;
#   - windows/amd64: kfsidebar.exe (for terminals), kfsidebarw.exe (the
#     tray: GUI subsystem, no console window) and a per-user installer
#     built with NSIS (makensis), in Chinese and English.
# Both programs use cgo (the embedded SQLite is mattn/go-sqlite3); the
# Windows ones are cross-compiled with Debian's gcc-mingw-w64-x86-64. The
# version is stamped into the binaries and printed by `kfsidebar version`.
# Nothing is packed with UPX: antivirus programs flag packed binaries.
#
# Debian packages needed: gcc-mingw-w64-x86-64 (with its windres), nsis,
# dpkg (dpkg-deb).

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Debian versions start with a digit: v1.2.3 → 1.2.3, 15c6185 → 0~git15c6185.
DEBVERSION ?= $(shell echo '$(VERSION)' | sed -E 's/^v//; s/^([^0-9])/0~git\1/; s/-/~/g')
DIST    ?= dist
GO      ?= go
LDFLAGS := -s -w -X main.version=$(VERSION)
BUILD   := $(GO) build -trimpath -ldflags '$(LDFLAGS)'
MINGW   ?= x86_64-w64-mingw32-gcc
WINDRES ?= x86_64-w64-mingw32-windres
MAKENSIS ?= makensis
# More makensis options: .ci/wine's test installer compresses with zlib,
# in a fraction of lzma's time (NSISFLAGS=-DCOMPRESSOR=zlib).
NSISFLAGS ?=
# Where the Windows and Linux packages are put together.
WINSTAGE := $(DIST)/.stage-windows
DEBSTAGE := $(DIST)/.stage-deb
# The icon resource linked into the Windows programs, made and removed by
# dist-windows.
SYSO := cmd/kfsidebar/rsrc_windows_amd64.syso

.PHONY: build test dist dist-linux dist-deb dist-windows vet-platforms clean

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

dist: dist-linux dist-deb dist-windows
	cd $(DIST) && sha256sum kfsidebar-$(VERSION)-* kfsidebar_$(DEBVERSION)_amd64.deb > SHA256SUMS-$(VERSION)
	@echo "release $(VERSION) in $(DIST)/:" && ls -l $(DIST)

dist-linux:
	CGO_ENABLED=1 GOOS=linux GOARCH=amd64 $(BUILD) -o $(DIST)/kfsidebar-$(VERSION)-linux-amd64 ./cmd/kfsidebar

# dist-deb: the .deb, with no maintainer scripts (the per-user steps are
# `kfsidebar setup` and `kfsidebar uninstall`, which a package cannot run
# for every user).
dist-deb: dist-linux
	rm -rf $(DEBSTAGE)
	mkdir -p $(DEBSTAGE)/DEBIAN $(DEBSTAGE)/usr/bin $(DEBSTAGE)/usr/share/applications \
		$(DEBSTAGE)/usr/share/icons/hicolor/64x64/apps $(DEBSTAGE)/usr/share/doc/kfsidebar
	install -m 0755 $(DIST)/kfsidebar-$(VERSION)-linux-amd64 $(DEBSTAGE)/usr/bin/kfsidebar
	install -m 0644 packaging/linux/kfsidebar.desktop $(DEBSTAGE)/usr/share/applications/
	$(GO) run ./internal/tray/internal/gen/appicon $(DEBSTAGE)/.icon
	install -m 0644 $(DEBSTAGE)/.icon/kfsidebar.png $(DEBSTAGE)/usr/share/icons/hicolor/64x64/apps/
	rm -rf $(DEBSTAGE)/.icon
	install -m 0644 README.md docs/INSTALL.md docs/INSTALL.zh.md $(DEBSTAGE)/usr/share/doc/kfsidebar/
# libc6: the newest GLIBC_ symbol version the program uses (binutils'
# objdump; gcc brings it), the oldest glibc it runs on.
	sed -e 's/@VERSION@/$(DEBVERSION)/' -e "s/@SIZE@/$$(du -sk $(DEBSTAGE)/usr | cut -f1)/" \
		-e "s/@LIBC@/$$(objdump -T $(DEBSTAGE)/usr/bin/kfsidebar | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)/" \
		packaging/linux/control > $(DEBSTAGE)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEBSTAGE) $(DIST)/kfsidebar_$(DEBVERSION)_amd64.deb
	rm -rf $(DEBSTAGE)

# dist-windows needs the MinGW cross compiler (with windres) and NSIS:
#   sudo apt install gcc-mingw-w64-x86-64 nsis
dist-windows:
	@command -v $(MINGW) >/dev/null || { echo "$(MINGW) not found: sudo apt install gcc-mingw-w64-x86-64" >&2; exit 1; }
	@command -v $(MAKENSIS) >/dev/null || { echo "$(MAKENSIS) not found: sudo apt install nsis" >&2; exit 1; }
	rm -rf $(WINSTAGE) && mkdir -p $(WINSTAGE)
	$(GO) run ./internal/tray/internal/gen/appicon $(WINSTAGE)
	$(WINDRES) -O coff -o $(SYSO) $(WINSTAGE)/kfsidebar.rc
	CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=$(MINGW) $(BUILD) -o $(DIST)/kfsidebar-$(VERSION)-windows-amd64.exe ./cmd/kfsidebar \
		&& CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=$(MINGW) $(GO) build -trimpath \
			-ldflags '$(LDFLAGS) -H=windowsgui -X main.defaultCommand=tray' -o $(DIST)/kfsidebarw-$(VERSION)-windows-amd64.exe ./cmd/kfsidebar; \
		status=$$?; rm -f $(SYSO); exit $$status
	cp $(DIST)/kfsidebar-$(VERSION)-windows-amd64.exe $(WINSTAGE)/kfsidebar.exe
	cp $(DIST)/kfsidebarw-$(VERSION)-windows-amd64.exe $(WINSTAGE)/kfsidebarw.exe
	cp README.md docs/INSTALL.md docs/INSTALL.zh.md $(WINSTAGE)/
	$(MAKENSIS) -V2 $(NSISFLAGS) -DVERSION=$(VERSION) -DSTAGE=$(abspath $(WINSTAGE)) \
		-DOUTFILE=$(abspath $(DIST))/kfsidebar-$(VERSION)-windows-amd64-setup.exe packaging/windows/kfsidebar.nsi
	rm -rf $(WINSTAGE)

# vet-platforms type-checks the platform files (trust stores, proxy
# settings, autostart, the tray) for Windows and macOS, tests included;
# macOS without cgo, as no macOS C toolchain is at hand here.
vet-platforms:
	GOOS=windows GOARCH=amd64 $(GO) vet ./certs ./cmd/... ./proxy/... ./internal/...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./certs ./cmd/... ./proxy/... ./internal/...

clean:
	rm -rf $(DIST) $(SYSO)
