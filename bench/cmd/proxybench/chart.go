//go:build linux

package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
)

// colors per proxy, in -proxies order.
var colors = map[string]string{
	"direct":         "#9e9e9e",
	"goproxy":        "#4e79a7",
	"kfsidebar":      "#59a14f",
	"kfsidebar-h2":   "#8cd17d",
	"mitmproxy":      "#e15759",
	"whistle":        "#f28e2b",
	"whistle-inject": "#f1ce63",
}

// panel is one grouped bar chart: a group per workload, a bar per proxy.
type panel struct {
	title  string
	log    bool
	series []string
	groups []string
	values [][]float64 // [group][series]; 0 = no bar
}

// svg draws the report's chart: throughput as a ratio to direct, and CPU
// time per request as a ratio to bare goproxy.
func (rep *report) svg() []byte {
	groups := make([]string, len(rep.Config.Workloads))
	for i, w := range rep.Config.Workloads {
		groups[i] = w.Name
	}
	tp := panel{title: "throughput, × direct (higher is better, log scale)", log: true, series: rep.Config.Proxies, groups: groups}
	cpu := panel{title: "CPU time per request, × bare goproxy (lower is better, log scale)", log: true, groups: groups}
	for _, p := range rep.Config.Proxies {
		if p != "direct" {
			cpu.series = append(cpu.series, p)
		}
	}
	for _, w := range rep.Config.Workloads {
		d, _ := rep.agg(w.Name, "direct")
		g, _ := rep.agg(w.Name, "goproxy")
		var row, crow []float64
		for _, p := range tp.series {
			a, _ := rep.agg(w.Name, p)
			row = append(row, safeDiv(a.RPS, d.RPS))
		}
		for _, p := range cpu.series {
			a, _ := rep.agg(w.Name, p)
			crow = append(crow, safeDiv(float64(a.CPUPerReq), float64(g.CPUPerReq)))
		}
		tp.values = append(tp.values, row)
		cpu.values = append(cpu.values, crow)
	}
	const width, ph = 900, 300
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, 2*ph+70, width, 2*ph+70)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	tp.draw(&b, 0, 0, width, ph)
	cpu.draw(&b, 0, ph+10, width, ph)
	// Legend.
	x := 60.0
	for _, p := range rep.Config.Proxies {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="12" height="12" fill="%s"/><text x="%.0f" y="%d">%s</text>`+"\n",
			x, 2*ph+35, colors[p], x+16, 2*ph+45, html.EscapeString(p))
		x += 130
	}
	fmt.Fprintf(&b, `<text x="60" y="%d" fill="#666">%s, medians of %d runs, %d connections</text>`+"\n",
		2*ph+65, rep.Started.Format("2006-01-02"), rep.Config.Repeat, rep.Config.Conns)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func (p panel) draw(b *bytes.Buffer, x0, y0, w, h int) {
	left, right, top, bottom := 60.0, 20.0, 40.0, 30.0
	pw, plotH := float64(w)-left-right, float64(h)-top-bottom
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x0+int(left), y0+18, html.EscapeString(p.title))
	maxV, minV := 0.0, math.Inf(1)
	for _, row := range p.values {
		for _, v := range row {
			if v > 0 {
				maxV = max(maxV, v)
				minV = min(minV, v)
			}
		}
	}
	if maxV == 0 {
		return
	}
	var ticks []float64
	var scale func(float64) float64 // value → height in pixels
	if p.log {
		lo := math.Pow(10, math.Ceil(math.Log10(minV))-1) // a bar of the smallest value stays visible
		hi := math.Pow(10, math.Ceil(math.Log10(maxV)))
		for t := lo; t <= hi*1.001; t *= 10 {
			ticks = append(ticks, t)
		}
		scale = func(v float64) float64 {
			return plotH * (math.Log10(v) - math.Log10(lo)) / (math.Log10(hi) - math.Log10(lo))
		}
	} else {
		hi := math.Ceil(maxV*5) / 5
		for t := 0.0; t <= hi+1e-9; t += niceStep(hi) {
			ticks = append(ticks, t)
		}
		hi = max(hi, ticks[len(ticks)-1])
		scale = func(v float64) float64 { return plotH * v / hi }
	}
	base := float64(y0) + top + plotH
	for _, t := range ticks {
		y := base - scale(t)
		fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end" fill="#666">%s</text>`+"\n",
			float64(x0)+left, float64(x0)+left+pw, y, y, float64(x0)+left-6, y+4, tickLabel(t))
	}
	gw := pw / float64(len(p.groups))
	bw := gw * 0.8 / float64(len(p.series))
	for gi, g := range p.groups {
		gx := float64(x0) + left + float64(gi)*gw + gw*0.1
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", gx+gw*0.4, base+18, html.EscapeString(g))
		for si, s := range p.series {
			v := p.values[gi][si]
			if v <= 0 {
				continue
			}
			bh := max(scale(v), 1)
			x := gx + float64(si)*bw
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f</title></rect>`+"\n",
				x, base-bh, bw-2, bh, colors[s], html.EscapeString(s), html.EscapeString(g), v)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n", x+bw/2-1, base-bh-3, tickLabel(v))
		}
	}
	fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#333"/>`+"\n", float64(x0)+left, float64(x0)+left+pw, base, base)
}

func niceStep(hi float64) float64 {
	for _, s := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 50} {
		if hi/s <= 8 {
			return s
		}
	}
	return 100
}

// tickLabel prints v with two significant digits, or as an integer.
func tickLabel(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}
