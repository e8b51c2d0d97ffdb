package quickreply

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
	"github.com/kfsidebar/kfsidebar/internal/sqlitedb"
)

// PagePath is where the management page lives at the proxy's own
// address (http://127.0.0.1:8787/quick-replies/); mount Handler there.
const PagePath = "/quick-replies/"

//go:embed admin
var adminAssets embed.FS

// maxEditBody bounds the JSON of one edit from the page.
const maxEditBody = 64 << 10

// msgImportRunning answers an edit that an orders import kept from the
// database (see importWait), in the words the sidebar uses for a reveal
// or a binding refused by one; the page puts 保存失败 before it.
const msgImportRunning = "正在导入订单，请稍后再试"

// Handler serves the management page under PagePath: the groups
// and replies to add, edit, delete and reorder, the console's own group
// (read only), and the file import and export.
//
// The page is plain HTML and JS talking to a small JSON API beside it.
// Every request that changes something must come from the page itself:
// http.CrossOriginProtection refuses cross-origin browser requests, and
// bodies must be application/json, which no cross-site form can send.
// Mount it behind admin.New, which answers only the proxy's own Host
// (no DNS rebinding).
func (q *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	p := PagePath
	static, err := fs.Sub(adminAssets, "admin")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	mux.HandleFunc("GET "+p+"{$}", func(w http.ResponseWriter, r *http.Request) {
		servePageAsset(w, r, static, "index.html", "text/html; charset=utf-8")
	})
	mux.HandleFunc("GET "+p+"app.js", func(w http.ResponseWriter, r *http.Request) {
		servePageAsset(w, r, static, "app.js", "text/javascript; charset=utf-8")
	})
	mux.HandleFunc("GET "+p+"app.css", func(w http.ResponseWriter, r *http.Request) {
		servePageAsset(w, r, static, "app.css", "text/css; charset=utf-8")
	})
	mux.HandleFunc("GET "+p+"api/groups", q.serveList)
	mux.HandleFunc("GET "+p+"export", q.serveExport)
	mux.HandleFunc("POST "+p+"api/import", q.serveImport)

	mux.Handle("POST "+p+"api/groups", q.editHandler(func(r *http.Request, in pageEdit) (any, error) {
		id, err := q.addGroup(r.Context(), in.Name)
		return map[string]int64{"id": id}, err
	}))
	mux.Handle("PUT "+p+"api/groups/order", q.editHandler(func(r *http.Request, in pageEdit) (any, error) {
		return nil, q.orderGroups(r.Context(), in.IDs)
	}))
	mux.Handle("PUT "+p+"api/groups/{id}", q.editHandler(func(r *http.Request, in pageEdit) (any, error) {
		return nil, q.renameGroup(r.Context(), pagePathID(r), in.Name)
	}))
	mux.Handle("DELETE "+p+"api/groups/{id}", q.editHandler(func(r *http.Request, _ pageEdit) (any, error) {
		return nil, q.deleteGroup(r.Context(), pagePathID(r))
	}))
	mux.Handle("POST "+p+"api/groups/{id}/replies", q.editHandler(func(r *http.Request, in pageEdit) (any, error) {
		id, err := q.addReply(r.Context(), pagePathID(r), in.Title, in.Text)
		return map[string]int64{"id": id}, err
	}))
	mux.Handle("PUT "+p+"api/groups/{id}/order", q.editHandler(func(r *http.Request, in pageEdit) (any, error) {
		return nil, q.orderReplies(r.Context(), pagePathID(r), in.IDs)
	}))
	mux.Handle("PUT "+p+"api/replies/{id}", q.editHandler(func(r *http.Request, in pageEdit) (any, error) {
		return nil, q.updateReply(r.Context(), pagePathID(r), in.GroupID, in.Title, in.Text)
	}))
	mux.Handle("DELETE "+p+"api/replies/{id}", q.editHandler(func(r *http.Request, _ pageEdit) (any, error) {
		return nil, q.deleteReply(r.Context(), pagePathID(r))
	}))

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageJSON(w, http.StatusForbidden, pageError{"请在 kfsidebar 自己的管理页面上操作 (cross-origin request refused)"})
	}))
	return pageSecurityHeaders(csrf.Handler(mux))
}

// pageSecurityHeaders keeps the page to itself: no framing, no foreign
// scripts, no sniffing.
func pageSecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func servePageAsset(w http.ResponseWriter, r *http.Request, fsys fs.FS, name, contentType string) {
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType)
	// The page and its script must match the running kfsidebar.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// pageList is the page's view of everything: local groups with ids, the
// console's replies and the variables a reply may use.
type pageList struct {
	Groups    []localGroup `json:"groups"`
	Console   []string     `json:"console"`
	Variables []string     `json:"variables"`
}

func (q *Store) serveList(w http.ResponseWriter, r *http.Request) {
	groups, err := q.localGroups(r.Context())
	if err != nil {
		q.serverError(w, err)
		return
	}
	console := q.consoleReplies()
	if console == nil {
		console = []string{}
	}
	if groups == nil {
		groups = []localGroup{}
	}
	pageJSON(w, http.StatusOK, pageList{Groups: groups, Console: console, Variables: Variables})
}

func (q *Store) serveExport(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := q.Export(r.Context(), &buf); err != nil {
		q.serverError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="kfsidebar-quick-replies.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (q *Store) serveImport(w http.ResponseWriter, r *http.Request) {
	if !isJSONBody(r) {
		pageJSON(w, http.StatusUnsupportedMediaType, pageError{"Content-Type must be application/json"})
		return
	}
	res, err := q.ImportFile(r.Context(), r.Body)
	var (
		bad  *jsonrecord.ImportError
		busy *sqlitedb.BusyError
	)
	switch {
	case errors.As(err, &bad):
		pageJSON(w, http.StatusBadRequest, pageError{"导入失败，没有任何改动：" + bad.Error()})
	case errors.As(err, &busy):
		q.importRunning(w, busy)
	case err != nil:
		q.serverError(w, err)
	default:
		pageJSON(w, http.StatusOK, importAnswer(res))
	}
}

// importRunning answers an edit refused because an orders import held
// the database: nothing was written, and the agent saves again once the
// import has ended. 503, as for any server that is briefly unable to
// answer; it is no fault, so it is not logged as one.
func (q *Store) importRunning(w http.ResponseWriter, busy *sqlitedb.BusyError) {
	q.log.Info("quick reply edit refused: an orders import holds the database", "what", busy.What, "since", busy.Since)
	pageJSON(w, http.StatusServiceUnavailable, pageError{msgImportRunning})
}

func (q *Store) serverError(w http.ResponseWriter, err error) {
	q.log.Warn("quick reply page failed", "err", err)
	pageJSON(w, http.StatusInternalServerError, pageError{"kfsidebar 出错了，请查看日志 (internal error)"})
}

// pageEdit is the body of any edit; each edit reads the fields it needs.
type pageEdit struct {
	Name    string  `json:"name"`
	Title   string  `json:"title"`
	Text    string  `json:"text"`
	GroupID int64   `json:"group_id"`
	IDs     []int64 `json:"ids"`
}

// importAnswer is the page's import result: the replies added and, for a
// file that was converted (GBK), how it was read.
type importAnswer struct {
	Added int    `json:"added"`
	Note  string `json:"note,omitempty"`
}

type pageError struct {
	Error string `json:"error"`
}

// editHandler decodes an edit, runs it and answers with its result or an
// error the page can show.
func (q *Store) editHandler(fn func(*http.Request, pageEdit) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in pageEdit
		if r.Method != http.MethodDelete {
			if !isJSONBody(r) {
				pageJSON(w, http.StatusUnsupportedMediaType, pageError{"Content-Type must be application/json"})
				return
			}
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEditBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				pageJSON(w, http.StatusBadRequest, pageError{"bad request: " + err.Error()})
				return
			}
		}
		if r.PathValue("id") != "" && pagePathID(r) <= 0 {
			pageJSON(w, http.StatusNotFound, pageError{"no such id"})
			return
		}
		out, err := fn(r, in)
		var (
			bad  *replyInputError
			busy *sqlitedb.BusyError
		)
		switch {
		case errors.As(err, &bad):
			pageJSON(w, http.StatusBadRequest, pageError{bad.Error()})
		case errors.Is(err, errNotFoundLocal):
			pageJSON(w, http.StatusNotFound, pageError{"已被删除，请刷新页面 (" + err.Error() + ")"})
		case errors.Is(err, errStaleOrder):
			pageJSON(w, http.StatusConflict, pageError{"列表已在别处改动，请刷新页面 (" + err.Error() + ")"})
		case errors.As(err, &busy):
			q.importRunning(w, busy)
		case err != nil:
			q.serverError(w, err)
		case out == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			pageJSON(w, http.StatusOK, out)
		}
	})
}

func pagePathID(r *http.Request) int64 {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

func isJSONBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return ct == "application/json" || bytes.HasPrefix([]byte(ct), []byte("application/json;"))
}

func pageJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
