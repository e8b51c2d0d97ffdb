package tray

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
)

// The icons are drawn here, not shipped as files: a rounded square in the
// state's colour with a white sign (the sidebar, a pause sign, a cross,
// an exclamation mark, three dots), as PNG for Linux and macOS and as ICO
// (16 and 32 pixels) for Windows.

// Colors are the states' colours, for the icons and for tests that look
// at them.
var Colors = map[State]color.RGBA{
	Starting:  {0x5b, 0x8d, 0xef, 0xff}, // blue: on its way
	Working:   {0x07, 0xc1, 0x60, 0xff}, // WeChat green
	Paused:    {0x9e, 0x9e, 0x9e, 0xff}, // grey
	Down:      {0xe6, 0x43, 0x40, 0xff}, // red
	Untrusted: {0xf0, 0xa0, 0x00, 0xff}, // amber
}

// draw makes the n×n icon of s.
func draw(s State, n int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	bg := Colors[s]
	white := color.RGBA{0xff, 0xff, 0xff, 0xff}
	f := float64(n)
	r := 0.22 * f // corner radius
	in := func(x, y, x0, y0, x1, y1 float64) bool { return x >= x0*f && x < x1*f && y >= y0*f && y < y1*f }
	for y := range n {
		for x := range n {
			px, py := float64(x)+0.5, float64(y)+0.5
			// Rounded square: outside the corners' circles is transparent.
			cx, cy := math.Max(r, math.Min(f-r, px)), math.Max(r, math.Min(f-r, py))
			if math.Hypot(px-cx, py-cy) > r {
				continue
			}
			c := bg
			var sign bool
			switch s {
			case Working: // a page with the sidebar on its right
				sign = in(px, py, 0.58, 0.2, 0.8, 0.8) ||
					in(px, py, 0.2, 0.24, 0.48, 0.33) || in(px, py, 0.2, 0.45, 0.48, 0.54) || in(px, py, 0.2, 0.66, 0.42, 0.75)
			case Paused:
				sign = in(px, py, 0.3, 0.22, 0.44, 0.78) || in(px, py, 0.56, 0.22, 0.7, 0.78)
			case Down: // ×
				d1, d2 := math.Abs((px-py)/f), math.Abs((px+py-f)/f)
				sign = (d1 < 0.09 || d2 < 0.09) && in(px, py, 0.22, 0.22, 0.78, 0.78)
			case Untrusted: // !
				sign = in(px, py, 0.43, 0.18, 0.57, 0.6) || in(px, py, 0.43, 0.68, 0.57, 0.82)
			case Starting: // …
				for _, dx := range []float64{0.28, 0.5, 0.72} {
					if math.Hypot(px-dx*f, py-0.5*f) < 0.08*f {
						sign = true
					}
				}
			}
			if sign {
				c = white
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// pngIcon is the state's icon as a PNG, for Linux (StatusNotifierItem's
// pixmap) and macOS.
func pngIcon(s State) []byte { return IconPNG(s, 64) }

// icoIcon is the state's icon as a Windows .ico with 16 and 32 pixel
// images: what the notification area shows.
func icoIcon(s State) []byte { return IconICO(s, 16, 32) }

// IconPNG is the state's icon as an n×n PNG. The Working icon is
// kfsidebar's application icon (the .deb's menu entry).
func IconPNG(s State, n int) []byte {
	var b bytes.Buffer
	png.Encode(&b, draw(s, n))
	return b.Bytes()
}

// IconICO is the state's icon as a Windows .ico with one image per size
// (at most 256), 32-bit BGRA bitmaps (Windows draws the alpha channel;
// the AND mask is all zeros). The Working icon is the application icon of
// the installer, the program and its shortcut.
func IconICO(s State, sizes ...int) []byte {
	var images [][]byte
	for _, n := range sizes {
		img := draw(s, n)
		var b bytes.Buffer
		maskRow := (n + 31) / 32 * 4
		binary.Write(&b, binary.LittleEndian, struct {
			Size                   uint32
			Width, Height          int32
			Planes, BitCount       uint16
			Compression, ImageSize uint32
			XPPM, YPPM             int32
			ClrUsed, ClrImportant  uint32
		}{40, int32(n), int32(2 * n), 1, 32, 0, uint32(n*n*4 + maskRow*n), 0, 0, 0, 0})
		for y := n - 1; y >= 0; y-- { // bottom-up
			for x := range n {
				c := img.RGBAAt(x, y)
				b.Write([]byte{c.B, c.G, c.R, c.A})
			}
		}
		b.Write(make([]byte, maskRow*n))
		images = append(images, b.Bytes())
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, [3]uint16{0, 1, uint16(len(sizes))})
	offset := 6 + 16*len(sizes)
	for i, n := range sizes {
		binary.Write(&out, binary.LittleEndian, struct {
			W, H, Colors, Reserved uint8
			Planes, BitCount       uint16
			Size, Offset           uint32
		}{uint8(n % 256), uint8(n % 256), 0, 0, 1, 32, uint32(len(images[i])), uint32(offset)}) // 0 means 256
		offset += len(images[i])
	}
	for _, img := range images {
		out.Write(img)
	}
	return out.Bytes()
}
