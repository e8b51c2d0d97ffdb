// Package certs makes and keeps kfsidebar's root CA and the short-lived leaf
// certificates it signs for the console host.
//
// The CA is generated on the workstation, never leaves it, and is
// name-constrained to the console host(s): even a stolen key cannot
// impersonate any other site or any IP address.
package certs
