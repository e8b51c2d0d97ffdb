package mpkftest

import (
	"fmt"
	"hash/fnv"
	"html"
	"net/http"
	"strings"
	"unicode"
)

// avatarSizes are the size segments WeChat appends to avatar URLs.
var avatarSizes = map[string]bool{"0": true, "46": true, "64": true, "96": true, "132": true}

// avatarColors are the backgrounds of generated avatars.
var avatarColors = []string{
	"#f5a05a", "#5b9bd5", "#6cc18a", "#e57373", "#9575cd",
	"#4db6ac", "#f06292", "#7986cb", "#a1887f", "#ffb74d",
}

// avatar serves wx.qlogo.cn and thirdwx.qlogo.cn: a generated SVG for any
// avatar path, at any size. A known fan's picture shows the first letter
// of their nickname on a colour chosen by the image id; the shared default
// avatar is WeChat's grey silhouette.
func (s *Server) avatar(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	segs := strings.FieldsFunc(r.URL.Path, func(c rune) bool { return c == '/' })
	if n := len(segs); n >= 3 && avatarSizes[segs[n-1]] {
		segs = segs[:n-1]
	}
	if len(segs) < 2 {
		http.NotFound(w, r)
		return
	}
	id := segs[len(segs)-1]
	var svg string
	if id == DefaultAvatarID {
		svg = defaultAvatarSVG
	} else {
		svg = letterAvatarSVG(s.avatarLetter(strings.Join(segs, "/"), id), colorFor(id))
	}
	w.Header().Set("Cache-Control", "max-age=86400")
	s.reply(w, r, http.StatusOK, "image/svg+xml", []byte(svg))
}

// avatarLetter is the letter drawn on the avatar at path: the initial of
// the fan's or agent's nickname, else of the image id.
func (s *Server) avatarLetter(path, id string) string {
	for _, kf := range []kfAccount{me, colleague} {
		if strings.HasSuffix(kf.HeadImgURL, "/"+path) {
			return initial(strings.TrimPrefix(kf.Nickname, "客服"))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.st.fans {
		if f.AvatarID != "" && f.avatarPath() == path {
			return initial(f.Nickname)
		}
	}
	return initial(id)
}

// initial is the first letter or digit of name, upper-cased; emoji and
// punctuation are skipped because the avatar is drawn with a text font.
func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}

func colorFor(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return avatarColors[h.Sum32()%uint32(len(avatarColors))]
}

func letterAvatarSVG(letter, color string) string {
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132">`+
		`<rect width="132" height="132" fill="%s"/>`+
		`<text x="66" y="66" dy="0.36em" text-anchor="middle" font-size="60" fill="#fff" `+
		`font-family="PingFang SC, Hiragino Sans GB, Microsoft YaHei, WenQuanYi Micro Hei, sans-serif">%s</text></svg>`,
		color, html.EscapeString(letter))
}

// defaultAvatarSVG is WeChat's default avatar: a light grey silhouette on
// grey.
const defaultAvatarSVG = `<svg xmlns="http://www.w3.org/2000/svg" width="132" height="132" viewBox="0 0 132 132">` +
	`<rect width="132" height="132" fill="#c8c9cc"/>` +
	`<circle cx="66" cy="52" r="24" fill="#f2f2f2"/>` +
	`<path d="M22 132c0-28 20-44 44-44s44 16 44 44z" fill="#f2f2f2"/></svg>`
