// Package sdk is what a vendor imports to write a CountyCloud module: the
// manifest that describes a plugin and the handshake that lets the host
// launch it (hashicorp/go-plugin). It imports nothing of the platform, so
// that a module written against it alone runs on any host that speaks its
// protocol version.
package sdk

import "github.com/hashicorp/go-plugin"

// ProtocolVersion is the plugin protocol this SDK speaks. The host refuses
// to launch a plugin whose manifest names a protocol it does not speak.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake between the host and a plugin. The
// cookie only keeps a plugin binary from being run by hand by mistake; it
// is not a security measure (the host checks each binary's SHA-256).
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "COUNTYCLOUD_PLUGIN",
		MagicCookieValue: "d4a1f7c2-county-module",
	}
}
