package shop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Customer is kfsidebar's Customer JSON, as the shop answers it. Only
// openid (or id) and name are required; see docs/backends.md.
type Customer struct {
	ID            string    `json:"id,omitempty"`
	OpenID        string    `json:"openid"`
	Name          string    `json:"name"`
	Phone         string    `json:"phone,omitempty"`
	Level         string    `json:"level,omitempty"`
	Tags          []string  `json:"tags,omitempty"`
	Note          string    `json:"note,omitempty"`
	AdminURL      string    `json:"admin_url,omitempty"`
	OrderCount    int       `json:"order_count,omitempty"`
	TotalSpentFen int64     `json:"total_spent_fen,omitempty"`
	LastOrderAt   string    `json:"last_order_at,omitempty"`
	Extra         []Extra   `json:"extra,omitempty"`
	Orders        []Order   `json:"orders,omitempty"`
	orderTimes    time.Time // newest order, for sorting
}

// Extra is a field of the shop's own.
type Extra struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Href  string `json:"href,omitempty"`
	Copy  bool   `json:"copy,omitempty"`
	Mask  bool   `json:"mask,omitempty"`
}

// Order is one order, newest first in Customer.Orders.
type Order struct {
	OrderNo       string          `json:"order_no"`
	CreatedAt     string          `json:"created_at"`
	Status        string          `json:"status"`
	AmountFen     int64           `json:"amount_fen"`
	Items         json.RawMessage `json:"items"`
	Carrier       string          `json:"carrier,omitempty"`
	TrackingNo    string          `json:"tracking_no,omitempty"`
	Address       string          `json:"address,omitempty"`
	TrackingEvent string          `json:"tracking_event,omitempty"`
	TrackingAt    string          `json:"tracking_at,omitempty"`
	Refund        json.RawMessage `json:"refund,omitempty"`
	AdminURL      string          `json:"admin_url,omitempty"`
}

// importFile is kfsidebar's import format, in which the demo data comes.
type importFile struct {
	Customers []Customer `json:"customers"`
	Orders    []struct {
		Order
		OpenID string `json:"openid"`
	} `json:"orders"`
}

// Shop holds the customers in memory, by openid and by the shop's id.
type Shop struct {
	byOpenID map[string]*Customer
	byID     map[string]*Customer
	all      []*Customer
}

// Load reads customers and orders in kfsidebar's import format (e.g.
// proxy/mpkftest's DemoOrdersJSON). A customer's id is the last segment of
// their admin_url; the order summary and an extra field are computed.
func Load(importJSON []byte) (*Shop, error) {
	var f importFile
	if err := json.Unmarshal(importJSON, &f); err != nil {
		return nil, fmt.Errorf("load shop data: %w", err)
	}
	s := &Shop{byOpenID: map[string]*Customer{}, byID: map[string]*Customer{}}
	for i := range f.Customers {
		c := &f.Customers[i]
		c.ID = path.Base(c.AdminURL)
		c.Extra = []Extra{{Label: "会员编号", Value: c.ID, Copy: true}}
		s.byOpenID[c.OpenID], s.byID[c.ID] = c, c
		s.all = append(s.all, c)
	}
	for _, o := range f.Orders {
		c := s.byOpenID[o.OpenID]
		if c == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339, o.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("load shop data: order %s: %w", o.OrderNo, err)
		}
		c.Orders = append(c.Orders, o.Order)
		c.OrderCount++
		if o.Status != "已取消" && o.Status != "待付款" {
			c.TotalSpentFen += o.AmountFen
		}
		if t.After(c.orderTimes) {
			c.orderTimes, c.LastOrderAt = t, o.CreatedAt
		}
	}
	for _, c := range s.all {
		sort.SliceStable(c.Orders, func(i, j int) bool { return c.Orders[i].CreatedAt > c.Orders[j].CreatedAt })
	}
	return s, nil
}

// Handler serves the API kfsidebar's example configuration points at:
//
//	GET /kfsidebar/customers/by-openid/{openid}   a customer, or 404
//	GET /kfsidebar/customers/{id}                 a customer, or 404
//	GET /kfsidebar/search?q=…&limit=…             {"customers": [...]}
//
// It does not check signatures; wrap it in Verifier.Require.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kfsidebar/customers/by-openid/{openid}", func(w http.ResponseWriter, r *http.Request) {
		writeCustomer(w, s.byOpenID[r.PathValue("openid")])
	})
	mux.HandleFunc("GET /kfsidebar/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeCustomer(w, s.byID[r.PathValue("id")])
	})
	mux.HandleFunc("GET /kfsidebar/search", func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 || limit > 50 {
			limit = 10
		}
		writeJSON(w, map[string]any{"customers": s.Search(r.URL.Query().Get("q"), limit)})
	})
	return mux
}

// Search finds customers whose phone ends with q (four digits or more),
// who placed order q, or whose name contains q; without their orders.
func (s *Shop) Search(q string, limit int) []Customer {
	q = strings.TrimSpace(q)
	out := []Customer{}
	if q == "" {
		return out
	}
	phone := strings.NewReplacer(" ", "", "-", "").Replace(q)
	isPhone := strings.Trim(phone, "0123456789") == "" && len(phone) >= 4
	for _, c := range s.all {
		match := (isPhone && strings.HasSuffix(c.Phone, phone)) || strings.Contains(c.Name, q)
		for _, o := range c.Orders {
			match = match || o.OrderNo == q
		}
		if match && len(out) < limit {
			found := *c
			found.Orders = nil
			out = append(out, found)
		}
	}
	return out
}

func writeCustomer(w http.ResponseWriter, c *Customer) {
	if c == nil {
		http.Error(w, `{"error": "no such customer"}`, http.StatusNotFound)
		return
	}
	writeJSON(w, c)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}
