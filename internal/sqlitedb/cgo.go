package sqlitedb

import "errors"

// ErrNoSQLite means this kfsidebar was built without cgo, so without
// SQLite: go-sqlite3 is C, and `go build` quietly leaves it out when no C
// compiler is found (CGO_ENABLED=0). Every command that keeps data would
// fail with go-sqlite3's "This is a stub"; kfsidebar says instead, in
// Chinese and English, what to install.
var ErrNoSQLite = errors.New(NoSQLiteHelp)

// NoSQLiteHelp says what to do about a kfsidebar built without a C
// compiler. The release page is where `make dist` uploads go.
const NoSQLiteHelp = `这个 kfsidebar 是在没有 C 编译器的情况下编译的, 不含 SQLite 数据库, 无法使用。
请下载发布版 (release) 的 kfsidebar.exe, 或安装 C 编译器后重新编译 (见 docs/INSTALL.md)。
This kfsidebar was built without a C compiler (CGO_ENABLED=0), so it has no SQLite
database and cannot run. Download a release build (docs/INSTALL.md says where), or
install a C compiler and build again with CGO_ENABLED=1:
  Windows: MinGW-w64 (e.g. from MSYS2: pacman -S mingw-w64-x86_64-gcc), gcc on PATH
  Debian/Ubuntu: sudo apt install gcc      macOS: xcode-select --install`
