package push_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/push"
)

func TestCheck(t *testing.T) {
	good := func() push.Config {
		c := testConfig(t)
		c.Targets = []push.Target{{Name: "erp", URL: "https://erp.shop.example/hooks/wechat", Secret: []byte("0123456789abcdef")}}
		return c
	}
	tests := []struct {
		name    string
		edit    func(*push.Config)
		key     string // "" for no problem
		warning bool
	}{
		{"good", func(*push.Config) {}, "", false},
		{"no token", func(c *push.Config) { c.Token = "" }, "token", false},
		{"token with a space", func(c *push.Config) { c.Token = "abc def" }, "token", false},
		{"key 42 characters", func(c *push.Config) { c.EncodingAESKey = strings.Repeat("A", 42) }, "encoding_aes_key", false},
		{"key with the = added", func(c *push.Config) { c.EncodingAESKey = strings.Repeat("A", 43) + "=" }, "encoding_aes_key", false},
		{"no key: plain only", func(c *push.Config) { c.EncodingAESKey, c.AppID = "", "" }, "encoding_aes_key", true},
		{"no key but required", func(c *push.Config) { c.EncodingAESKey, c.AppID, c.RequireEncrypted = "", "", true }, "require_encrypted", false},
		{"bad previous key", func(c *push.Config) { c.PreviousEncodingAESKey = "short" }, "previous_encoding_aes_key", false},
		{"no appid", func(c *push.Config) { c.AppID = "" }, "appid", false},
		{"appid upper case", func(c *push.Config) { c.AppID = "WXBA5FAD812F8E6FB9" }, "appid", false},
		{"no original id", func(c *push.Config) { c.OriginalID = "" }, "original_id", false},
		{"appid as original id", func(c *push.Config) { c.OriginalID = "wxba5fad812f8e6fb9" }, "original_id", false},
		{"odd original id", func(c *push.Config) { c.OriginalID = "gh_abc" }, "original_id", true},
		{"target without name", func(c *push.Config) { c.Targets[0].Name = "" }, "targets[0].name", false},
		{"target twice", func(c *push.Config) { c.Targets = append(c.Targets, c.Targets[0]) }, "targets.erp.name", false},
		{"target without URL", func(c *push.Config) { c.Targets[0].URL = "erp.shop.example" }, "targets.erp.url", false},
		{"target over public http", func(c *push.Config) { c.Targets[0].URL = "http://erp.shop.example/x" }, "targets.erp.url", true},
		{"target over loopback http", func(c *push.Config) { c.Targets[0].URL = "http://127.0.0.1:9000/x" }, "", false},
		{"short secret", func(c *push.Config) { c.Targets[0].Secret = []byte("short") }, "targets.erp.secret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			ps := push.Check(c)
			if tt.key == "" {
				if len(ps) != 0 {
					t.Errorf("problems %v, want none", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Key != tt.key || ps[0].Warning != tt.warning {
				t.Fatalf("problems %v, want one on %s (warning %t)", ps, tt.key, tt.warning)
			}
			// Said in Chinese and in English, naming the key.
			if msg := ps[0].String(); !strings.Contains(msg, tt.key) || !strings.Contains(msg, " / ") || !hasHan(msg) {
				t.Errorf("message %q", msg)
			}
			_, err := push.New(c, tempSQLite(t))
			if tt.warning != (err == nil) {
				t.Errorf("New = %v; a config with an error (not a warning) must be refused", err)
			}
			if err != nil && !errors.Is(err, push.ErrConfig) {
				t.Errorf("New error %v is not ErrConfig", err)
			}
		})
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}
