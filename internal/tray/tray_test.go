package tray

import (
	"bytes"
	"encoding/binary"
	"image/color"
	"image/png"
	"path/filepath"
	"testing"
)

func dominant(t *testing.T, pix func(x, y int) color.RGBA, n int) color.RGBA {
	t.Helper()
	count := map[color.RGBA]int{}
	for y := range n {
		for x := range n {
			if c := pix(x, y); c.A == 0xff && c != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
				count[c]++
			}
		}
	}
	var best color.RGBA
	for c, k := range count {
		if k > count[best] {
			best = c
		}
	}
	return best
}

// TestIcons: every state has its own colour, as PNG and as ICO.
func TestIcons(t *testing.T) {
	seen := map[color.RGBA]State{}
	for s, want := range Colors {
		if other, dup := seen[want]; dup {
			t.Errorf("%v and %v share a colour", s, other)
		}
		seen[want] = s
		img, err := png.Decode(bytes.NewReader(pngIcon(s)))
		if err != nil {
			t.Fatal(err)
		}
		if got := dominant(t, func(x, y int) color.RGBA { return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) }, 64); got != want {
			t.Errorf("%v PNG is %v, want %v", s, got, want)
		}
		ico := icoIcon(s)
		var dir [3]uint16
		binary.Read(bytes.NewReader(ico), binary.LittleEndian, &dir)
		if dir != [3]uint16{0, 1, 2} {
			t.Fatalf("%v ICO header %v", s, dir)
		}
		// The 32-pixel image: after the directory and the 40-byte header,
		// bottom-up BGRA rows.
		off := binary.LittleEndian.Uint32(ico[6+16+12:])
		pix := ico[off+40:]
		got := dominant(t, func(x, y int) color.RGBA {
			p := pix[((31-y)*32+x)*4:]
			return color.RGBA{p[2], p[1], p[0], p[3]}
		}, 32)
		if got != want {
			t.Errorf("%v ICO is %v, want %v", s, got, want)
		}
	}
}

// TestLock: one tray per user; the lock is free again once released.
func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "tray.lock")
	release, held, err := Lock(path)
	if err != nil || !held {
		t.Fatalf("first: %v %v", held, err)
	}
	if _, held, err := Lock(path); err != nil || held {
		t.Fatalf("second while held: %v %v", held, err)
	}
	release()
	release2, held, err := Lock(path)
	if err != nil || !held {
		t.Fatalf("after release: %v %v", held, err)
	}
	release2()
}
