// Package repocheck holds tests of the repository as a whole, the checks no
// single package can make about itself: that every package, commands
// included, says in a doc comment what it is for.
package repocheck
