package console

import (
	"strings"
	"testing"
)

func TestAvatarKey(t *testing.T) {
	const want = "wx.qlogo.cn/mmhead/Q3auHgzwzM4"
	tests := []struct {
		in, want string
	}{
		// The two forms design.md names: JSON and page.
		{"http://wx.qlogo.cn/mmhead/Q3auHgzwzM4", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/132", want},
		// Every size segment.
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/0", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/46", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/64", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/96", want},
		// Host case, the thirdwx alias, scheme-relative, ports.
		{"https://WX.QLOGO.CN/mmhead/Q3auHgzwzM4/132", want},
		{"https://thirdwx.qlogo.cn/mmhead/Q3auHgzwzM4/132", want},
		{"//wx.qlogo.cn/mmhead/Q3auHgzwzM4/96", want},
		{"https://wx.qlogo.cn:443/mmhead/Q3auHgzwzM4/132", want},
		{"http://wx.qlogo.cn./mmhead/Q3auHgzwzM4", want},
		// Trailing slashes, query, fragment, surrounding space.
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/132/", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/132?wx_fmt=jpeg", want},
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/132#x", want},
		{"  http://wx.qlogo.cn/mmhead/Q3auHgzwzM4 ", want},
		// Only one size segment is dropped.
		{"https://wx.qlogo.cn/mmhead/Q3auHgzwzM4/0/132", "wx.qlogo.cn/mmhead/Q3auHgzwzM4/0"},
		// Identity segments are kept: mmopen, ver_1, vi_32 and case of the id.
		{"https://thirdwx.qlogo.cn/mmopen/vi_32/DYAIOgq83eq/132", "wx.qlogo.cn/mmopen/vi_32/DYAIOgq83eq"},
		{"http://wx.qlogo.cn/mmopen/vi_32/DYAIOgq83eq", "wx.qlogo.cn/mmopen/vi_32/DYAIOgq83eq"},
		{"https://wx.qlogo.cn/mmopen/ver_1/ABC/0", "wx.qlogo.cn/mmopen/ver_1/ABC"},
		{"https://wx.qlogo.cn/mmhead/q3auhgzwzm4/132", "wx.qlogo.cn/mmhead/q3auhgzwzm4"},
		// A numeric id right after the kind is the image, not a size.
		{"https://wx.qlogo.cn/mmhead/132", "wx.qlogo.cn/mmhead/132"},
		// Other hosts are kept (lower-cased), not aliased.
		{"https://mmbiz.qpic.cn/mmhead/X/132", "mmbiz.qpic.cn/mmhead/X"},
		// No avatar, no key.
		{"", ""},
		{"   ", ""},
		{"https://", ""},
		{"https://wx.qlogo.cn", ""},
		{"https://wx.qlogo.cn/", ""},
		{"/mmhead/X/132", ""},
	}
	for _, tt := range tests {
		if got := AvatarKey(tt.in); got != tt.want {
			t.Errorf("AvatarKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzAvatarKey(f *testing.F) {
	for _, s := range []string{
		"http://wx.qlogo.cn/mmhead/Q3auHgzwzM4",
		"https://thirdwx.qlogo.cn/mmopen/vi_32/DYAIOgq83eq/132?x#y",
		"//wx.qlogo.cn/mmhead/132", "", "https://", "a@b:c/d/0/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := AvatarKey(s)
		if strings.ContainsAny(k, "?#") || strings.HasSuffix(k, "/") || strings.Contains(k, "://") {
			t.Fatalf("AvatarKey(%q) = %q keeps a scheme, query, fragment or trailing slash", s, k)
		}
		// The JSON form and the page form of any avatar id give one key.
		id := strings.TrimSpace(strings.Map(func(r rune) rune {
			if strings.ContainsRune("/?#", r) {
				return -1
			}
			return r
		}, s))
		if id == "" {
			return
		}
		json := AvatarKey("http://wx.qlogo.cn/mmhead/" + id)
		page := AvatarKey("https://thirdwx.qlogo.cn/mmhead/" + id + "/132")
		if json != page || json == "" {
			t.Fatalf("id %q: JSON key %q, page key %q", id, json, page)
		}
	})
}
