package console

import (
	"strings"
)

// avatarHostAliases maps hosts that serve the same WeChat avatar images to
// one canonical host.
var avatarHostAliases = map[string]string{
	"thirdwx.qlogo.cn": "wx.qlogo.cn",
}

// avatarSizes are the trailing size segments of a WeChat avatar URL
// (0 means 640×640). The same image is requested at different sizes.
var avatarSizes = map[string]bool{"0": true, "46": true, "64": true, "96": true, "132": true}

// AvatarKey normalizes an avatar URL into the key that matches the same
// avatar seen in the console's JSON (http://wx.qlogo.cn/mmhead/XXXX) and in
// its page (https://wx.qlogo.cn/mmhead/XXXX/132).
//
// The key ignores the scheme, host case, the thirdwx.qlogo.cn alias, one
// trailing size segment, trailing slashes, the query and the fragment. Every
// other path segment is kept: mmhead/mmopen, ver_1 and vi_32 are part of the
// image's identity. An empty or host-less URL has no key ("") because users
// without an avatar would otherwise all collide.
func AvatarKey(raw string) string {
	s := strings.TrimSpace(raw)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	} else {
		s = strings.TrimPrefix(s, "//")
	}
	host, path, _ := strings.Cut(s, "/")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if h, port, ok := strings.Cut(host, ":"); ok && (port == "80" || port == "443" || port == "") {
		host = h
	}
	if host == "" {
		return ""
	}
	if alias, ok := avatarHostAliases[host]; ok {
		host = alias
	}
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	// Drop one size segment, but only when an identifying segment stays
	// before it: "/mmhead/132" is an image called 132, not a size.
	if n := len(segs); n >= 3 && avatarSizes[segs[n-1]] {
		segs = segs[:n-1]
	}
	if len(segs) == 0 {
		return ""
	}
	return host + "/" + strings.Join(segs, "/")
}
