package repocheck

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// listedPackage is the part of `go list -json` this test reads.
type listedPackage struct {
	ImportPath     string
	Dir            string
	Name           string
	Doc            string
	Imports        []string
	Deps           []string
	Standard       bool
	GoFiles        []string
	CgoFiles       []string
	IgnoredGoFiles []string // other platforms' files (_windows.go, …) and //go:build ignore
	TestGoFiles    []string
	XTestGoFiles   []string
}

// TestEveryPackageHasADocComment asks the go command for every package of
// the module (so nothing is left out by a list kept here) and reads each
// package's files, those of other platforms too, for a doc comment. A
// library's starts "Package <name> "; a command's may say anything (by
// convention "Command <name> …"). A package of test files only must have
// one in a test file.
func TestEveryPackageHasADocComment(t *testing.T) {
	pkgs := goList(t)
	if len(pkgs) < 2 {
		t.Fatalf("go list found %d packages; the test is not looking at the module", len(pkgs))
	}
	for _, p := range pkgs {
		files := append(append(append([]string{}, p.GoFiles...), p.CgoFiles...), p.IgnoredGoFiles...)
		if len(p.GoFiles)+len(p.CgoFiles) == 0 {
			files = append(append(files, p.TestGoFiles...), p.XTestGoFiles...)
		}
		name, doc, err := packageDoc(p.Dir, files, p.Name)
		if err != nil {
			t.Errorf("%s: %v", p.ImportPath, err)
			continue
		}
		switch {
		case doc == "":
			t.Errorf("%s (package %s) has no doc comment: write one above the package clause of its main file (or a doc.go) saying what it is for", p.ImportPath, name)
		case name != "main" && !strings.HasPrefix(doc, "Package "+name+" "):
			t.Errorf("%s: the doc comment should start \"Package %s \", not %q", p.ImportPath, name, firstLine(doc))
		}
	}
}

// goList runs `go list -e -deps -json ./...` at the module's root and
// returns the module's own packages (with their deps listed).
func goList(t *testing.T) []listedPackage {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.Command("go", "list", "-e", "-deps", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if strings.HasPrefix(p.ImportPath, modulePath) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// modulePath is the module's import path.
const modulePath = "github.com/kfsidebar/kfsidebar"

// packageDoc returns the package's name and its doc comment, from the
// files of dir that belong to it (name; when name is empty, because no
// file builds on this platform, the name the files declare). Files of
// another package in the same directory (a //go:build ignore program,
// an external test package) are not its files.
func packageDoc(dir string, files []string, name string) (string, string, error) {
	fset := token.NewFileSet()
	var doc string
	for _, f := range files {
		af, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return name, "", err
		}
		got := strings.TrimSuffix(af.Name.Name, "_test")
		if name == "" {
			name = got
		}
		if got != name {
			continue
		}
		if af.Doc != nil && doc == "" {
			doc = af.Doc.Text()
		}
	}
	return name, doc, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
