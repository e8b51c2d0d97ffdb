package shopsql

import (
	"testing"
)

func TestPhoneDigits(t *testing.T) {
	for in, want := range map[string]string{"3349": "3349", "186-2710-3349": "18627103349", "+86 186": "86186",
		"334": "", "张伟": "", "E2026": ""} {
		if got := phoneDigits(in); got != want {
			t.Errorf("phoneDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
