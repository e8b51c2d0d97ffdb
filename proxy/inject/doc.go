// Package inject makes the one change kfsidebar makes to the console: the
// sidebar's <script> tag in the console's HTML documents (HTML), and the
// least change to a Content-Security-Policy that would block it (PatchCSP).
// Both are fuzzed and checked against golden files: a page must never
// break because of them.
package inject
