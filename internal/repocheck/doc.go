// Package repocheck holds tests of the repository as a whole, the checks no
// single package can make about itself: that every package, commands
// included, says in a doc comment what it is for; that dependencies point
// the way docs/ARCHITECTURE.md says (each heavy dependency in one package,
// the sidebar free of the MITM proxy, the vocabularies free of third-party
// code); that no file outgrows a reader; and that ARCHITECTURE.md's package
// table and dependency picture are the code's (go test -update rewrites
// them).
package repocheck
