// Package proxy is kfsidebar's HTTPS proxy: it decrypts only the console
// host(s) with the workstation's own CA, passes every upstream response
// through byte for byte except the one <script> tag injected into the
// console's HTML, scans the console's JSON for chat users (openid, nickname,
// avatar) and keeps them in a map that the sidebar asks "who is this avatar?".
//
// Everything else is tunnelled blind and never decrypted.
package proxy
