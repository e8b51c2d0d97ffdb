// Package admin serves kfsidebar's own pages at the proxy's address, never
// on the console origin: the PAC file that sends only the console through
// the proxy, the CA download, the status page and /status.json (what the
// browser uses, today's chats, the order backend's health: no customer
// data), and more pages the caller mounts (the quick-reply editor). Every
// page checks the Host header, so no DNS-rebinding site can reach them.
package admin
