// Package certs makes and keeps kfsidebar's root CA and the short-lived leaf
// certificates it signs for the console host.
//
// The CA is generated on the workstation, never leaves it, and is
// name-constrained to the console host(s): even a stolen key cannot
// impersonate any other site or any IP address.
//
// LoadOrCreate keeps the CA in the data directory (ca.pem, ca-key.pem) and
// refuses, with a message saying what to do, a CA that no longer fits the
// configuration; New makes a throwaway CA for tests and the simulated
// console. Leaves serves the browser-facing side of a decrypted connection,
// and SPKIHash gives the pin for a browser profile that trusts the CA
// without the system trust store.
package certs
