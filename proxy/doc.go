// Package proxy is kfsidebar's HTTPS proxy, the MITM transport: a goproxy
// front that decrypts only the console host(s) with the workstation's own
// CA and tunnels everything else blind, never decrypted; behind it a
// standard-library reverse proxy to the real console that passes every
// upstream response through byte for byte, except the console's HTML
// documents, which get the sidebar's <script> tag (package inject). It
// hands a copy of the console's JSON and pages to the parsers (package
// scan) and the chat users they find to a Sink (the chat map, package
// chats), answers the reserved path prefix on the console origin with the
// sidebar (Config.Local), and the proxy's own address with its pages
// (Config.Admin).
//
// It is the only home of goproxy. Any failure in its own code passes the
// original response through and is logged: the console never breaks
// because of kfsidebar.
package proxy
