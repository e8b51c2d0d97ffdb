package repocheck

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/ARCHITECTURE.md")

// heavy are the third-party modules that must each be imported by exactly
// one package of kfsidebar (outside tests): one place knows each of them.
var heavy = map[string]string{
	"github.com/elazarl/goproxy":        "the MITM transport",
	"github.com/jackc/pgx/v5":           "the SQL order backend",
	"github.com/go-sql-driver/mysql":    "the SQL order backend",
	"github.com/mattn/go-sqlite3":       "the SQLite opener",
	"github.com/tidwall/gjson":          "the console parsers",
	"github.com/pelletier/go-toml/v2":   "the config file",
	"github.com/gorilla/websocket":      "the sidebar hub",
	"github.com/andybalholm/brotli":     "the MITM transport's decoder",
	"github.com/chromedp/chromedp":      "the browser test harness",
	"golang.org/x/net/html":             "the page parsers",
	"fyne.io/systray":                   "the tray icon",
	"github.com/gofrs/flock":            "the tray's one-instance lock",
	"github.com/godbus/dbus/v5":         "the fake tray host of the tray's tests",
	"golang.org/x/sys/windows/registry": "the Windows trust store, proxy settings and autostart",
	"golang.org/x/text":                 "the text file decoder",
}

// allowedHomes lists the packages allowed to import a heavy module where
// more than one concept needs it, with why.
var allowedHomes = map[string][]string{
	// Reading the page's bootstrap and finding where the script goes are
	// two concepts on one tokenizer.
	"golang.org/x/net/html": {"proxy/scan", "proxy/inject"},
	// The workstation feed of the push gateway speaks websocket too.
	"github.com/gorilla/websocket": {"sidebar", "push/feed"},
	// Three platform adapters read the registry.
	"golang.org/x/sys/windows/registry": {"certs", "internal/sysproxy", "internal/autostart"},
	// The simulated console serves brotli, as the real one may.
	"github.com/andybalholm/brotli": {"proxy", "proxy/mpkftest"},
	// The pinyin table's generator reads the GB2312 order; the text file
	// decoder reads GBK files.
	"golang.org/x/text": {"internal/textfile", "sidebar/quickreply/internal/gen/pinyin"},
	// The browser harness and the benchmark drive Chromium.
	"github.com/chromedp/chromedp": {"internal/browsertest", "bench/cmd/identitybench"},
}

// TestDependencyRules checks the rules of docs/ARCHITECTURE.md on the
// import graph the go command reports.
func TestDependencyRules(t *testing.T) {
	pkgs := goList(t)
	importers := map[string][]string{}
	for _, p := range pkgs {
		if isBench(rel(p.ImportPath)) {
			continue // benchmarks import what they compare kfsidebar with
		}
		for _, imp := range p.Imports {
			for mod := range heavy {
				if imp == mod || strings.HasPrefix(imp, mod+"/") {
					importers[mod] = append(importers[mod], rel(p.ImportPath))
				}
			}
		}
	}
	for mod, why := range heavy {
		got := slices.Compact(slices.Sorted(slices.Values(importers[mod])))
		want := allowedHomes[mod]
		if len(got) > 1 && !isSubset(got, want) {
			t.Errorf("%s (%s) is imported by %v; one package should hold it (or say why in allowedHomes)", mod, why, got)
		}
	}
	for _, p := range pkgs {
		path := rel(p.ImportPath)
		if strings.HasPrefix(path, "sidebar") {
			for _, d := range p.Deps {
				if d == "github.com/elazarl/goproxy" || d == modulePath+"/proxy" {
					t.Errorf("%s depends on %s: the sidebar must not depend on the MITM transport", path, d)
				}
			}
		}
		if path == "proxy/console" || path == "sidebar/shop" {
			for _, d := range p.Deps {
				if isThirdParty(d) {
					t.Errorf("%s depends on %s: a vocabulary uses the standard library only", path, d)
				}
			}
		}
	}
}

// maxFileLines is how long a source file may grow before it wants to be
// split by concept.
const maxFileLines = 500

// TestNoLongFiles: every non-test, non-generated Go file reads in one
// sitting.
func TestNoLongFiles(t *testing.T) {
	for _, p := range goList(t) {
		for _, f := range append(append(append([]string{}, p.GoFiles...), p.CgoFiles...), p.IgnoredGoFiles...) {
			path := filepath.Join(p.Dir, f)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("Code generated")) {
				continue
			}
			if n := bytes.Count(data, []byte("\n")); n > maxFileLines {
				t.Errorf("%s/%s has %d lines (at most %d): split it by concept", rel(p.ImportPath), f, n, maxFileLines)
			}
		}
	}
}

// TestArchitectureDoc keeps the generated sections of docs/ARCHITECTURE.md
// (the package table and the dependency picture) the code's own.
func TestArchitectureDoc(t *testing.T) {
	pkgs := goList(t)
	path := filepath.Join(moduleRoot(t), "docs", "ARCHITECTURE.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := replaceSection(string(doc), "packages", packageTable(t, pkgs))
	got = replaceSection(got, "graph", dependencyGraph(pkgs))
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != string(doc) {
		t.Errorf("docs/ARCHITECTURE.md is out of date with the code: run go test ./internal/repocheck -update")
	}
}

// moduleRoot is the module's directory: this test runs in
// internal/repocheck.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(dir, "..", ".."))
}

// packageTable is a Markdown table of the module's packages: path, lines
// of non-test Go, the first sentence of the doc comment, and the
// third-party modules imported.
func packageTable(t *testing.T, pkgs []listedPackage) string {
	var b strings.Builder
	b.WriteString("| package | lines | what it is | third-party imports |\n|---|---:|---|---|\n")
	total := 0
	pkgs = slices.Clone(pkgs)
	slices.SortFunc(pkgs, func(a, b listedPackage) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	for _, p := range pkgs {
		n := 0
		for _, f := range append(append(append([]string{}, p.GoFiles...), p.CgoFiles...), p.IgnoredGoFiles...) {
			data, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			n += bytes.Count(data, []byte("\n"))
		}
		total += n
		var third []string
		for _, imp := range p.Imports {
			if isThirdParty(imp) {
				third = append(third, "`"+imp+"`")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", rel(p.ImportPath), n, firstSentence(p.Doc), strings.Join(third, " "))
	}
	fmt.Fprintf(&b, "| all | %d | | |\n", total)
	return b.String()
}

// dependencyGraph is a Mermaid flowchart of the imports between the
// module's packages (test helpers and benchmarks left out: they import
// what they test).
func dependencyGraph(pkgs []listedPackage) string {
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TD\n")
	id := func(path string) string {
		return strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(path)
	}
	shown := func(path string) bool {
		return !strings.HasPrefix(path, "bench") && !strings.HasSuffix(path, "test") && !strings.HasPrefix(path, "internal/repocheck") &&
			!strings.HasPrefix(path, "examples")
	}
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		if !shown(from) || from == "" {
			continue
		}
		fmt.Fprintf(&b, "  %s[%s]\n", id(from), from)
		for _, imp := range p.Imports {
			if to := rel(imp); strings.HasPrefix(imp, modulePath+"/") && shown(to) {
				fmt.Fprintf(&b, "  %s --> %s\n", id(from), id(to))
			}
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// replaceSection replaces what stands between <!-- begin NAME --> and
// <!-- end NAME --> with body.
func replaceSection(doc, name, body string) string {
	begin, end := "<!-- begin "+name+" (generated: go test ./internal/repocheck -update) -->\n", "<!-- end "+name+" -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		return doc + "\n" + begin + body + end + "\n"
	}
	return doc[:i+len(begin)] + body + doc[j:]
}

func firstSentence(doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	if i := strings.Index(doc, ". "); i >= 0 {
		doc = doc[:i+1]
	}
	return strings.ReplaceAll(doc, "|", "\\|")
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, modulePath), "/")
}

func isThirdParty(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return strings.Contains(first, ".") && !strings.HasPrefix(path, modulePath)
}

// isBench reports whether path is a benchmark harness or an example:
// outside the product, which the rules are about.
func isBench(path string) bool {
	return strings.HasPrefix(path, "bench/") || strings.HasPrefix(path, "examples/")
}

func isSubset(got, allowed []string) bool {
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			return false
		}
	}
	return true
}
