package sidebar

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/kftest"
)

// TestBrowserSourceAndTracking: the 来源 the push gateway reported shows
// in the customer card and opens the order it names; a 来源 arriving
// while the card is open replaces it (a product, by its sku); a tracking
// push updates the matching order's latest step in place, in its row and
// in its open detail, without a new selection or lookup.
func TestBrowserSourceAndTracking(t *testing.T) {
	fc := newFakeConsole(t)
	srcs, err := NewSources([]SourcePattern{{"order:{order_no}", "从订单进入"}, {"goods:{sku}", "从商品页进入"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHub(HubOptions{Resolver: fc.res, Backend: fc.shop, Token: testToken, AllowedOrigins: []string{fc.origin},
		Logger: slog.New(selectCounter{kftest.Logger(t).Handler(), &fc.selects}), QuickReplies: fc.replies, IdentifyWait: 300 * time.Millisecond, Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	fc.use(h)
	h.SessionFrom("oAlice", "order:2026111800017", time.Now().Add(-2*time.Minute))

	tb := fc.open(t)
	tb.clickCard("1001")
	tb.Wait("customer", "oAlice")
	tb.wait("the 来源", hostJS+`.shadowRoot.querySelector('.source')?.dataset.sourceRaw === 'order:2026111800017'`)
	box := tb.ShadowText(".source")
	for _, want := range []string{"来源", "从订单进入", "订单", "2026111800017", "查看", "原始值", "order:2026111800017", "进入"} {
		if !strings.Contains(box, want) {
			t.Errorf("来源 box lacks %q:\n%s", want, box)
		}
	}
	named := hostJS + `.shadowRoot.querySelector('[data-order-no="2026111800017"]')`
	tb.wait("the order the 来源 names, open", named+`.classList.contains('open') && `+named+`.dataset.source === '1'`)
	tb.screenshot("source")

	// The agent opens the first order and reveals its address; its
	// waybill's step arrives.
	tb.Click(`[data-order-no="2026112200001"] .order-head`)
	first := hostJS + `.shadowRoot.querySelector('[data-order-no="2026112200001"]')`
	tb.wait("the order open", first+`.querySelector('.order-detail')?.hidden === false`)
	tb.Click(`[data-reveal="address:2026112200001"]`)
	tb.wait("the address shown", first+`.querySelector('[data-field="address:2026112200001"]').textContent.includes('文三路398号')`)
	h.Tracking(TrackingUpdate{WayBillID: "SF1234567890", OrderID: "internal-77", ActionTime: time.Now(), ActionMsg: "派送中，快递员正在为您派件"})
	tb.wait("the live step", first+`.dataset.live === '1'`)
	if row := tb.ShadowText(`[data-order-no="2026112200001"] .order-track`); !strings.Contains(row, "物流更新：派送中，快递员正在为您派件") || !strings.Contains(row, "今天") {
		t.Errorf("order row says %q", row)
	}
	detail := tb.ShadowText(`[data-order-no="2026112200001"] .order-detail`)
	if !strings.Contains(detail, "派送中，快递员正在为您派件") || strings.Contains(detail, "已到达杭州转运中心") || !strings.Contains(detail, "文三路398号") {
		t.Errorf("order detail after the push (the step new, the revealed address kept):\n%s", detail)
	}
	// The redrawn detail still opens and closes with its row.
	tb.Click(`[data-order-no="2026112200001"] .order-head`)
	tb.wait("the order closed", first+`.querySelector('.order-detail').hidden === true`)
	tb.screenshot("tracking")

	// Another 来源 while the card is open: a product, named by its sku.
	h.SessionFrom("oAlice", "goods:CUP-500", time.Now())
	tb.wait("the new 来源", hostJS+`.shadowRoot.querySelector('.source')?.dataset.sourceRaw === 'goods:CUP-500'`)
	box = tb.ShadowText(".source")
	for _, want := range []string{"从商品页进入", "商品", "保温杯", "CUP-500"} {
		if !strings.Contains(box, want) {
			t.Errorf("来源 box lacks %q:\n%s", want, box)
		}
	}
	if n := eval[int](tb, hostJS+`.shadowRoot.querySelectorAll('.source').length`); n != 1 {
		t.Errorf("%d 来源 boxes", n)
	}
	if st := tb.Read(); st.State != "customer" || st.OpenID != "oAlice" {
		t.Errorf("sidebar %+v after the pushes, want the same customer", st)
	}
	if n := fc.selects.Load(); n != 1 {
		t.Errorf("%d selects; the pushes must need none", n)
	}
}
