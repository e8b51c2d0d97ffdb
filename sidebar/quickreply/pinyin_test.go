package quickreply

import (
	"strings"
	"testing"
)

func TestInitials(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"物流查询", "wlcx"},
		{"退换货", "thh"},
		{"催发货", "cfh"},
		{"您好，请问有什么可以帮您？", "nhqwysmkybn"},
		{"7天无理由退货", "7twlyth"},
		{"VIP客户", "vipkh"},
		{"订单{order_no}", "ddorderno"},
		{"ＶＩＰ１号", "vip1h"}, // full-width folded
		{"Émile 包裹", "émilebg"},
		// Polyphonic characters take the reading GB 2312 orders them by.
		{"长期", "cq"},
		{"厦门", "xm"},
		{"行李", "xl"}, // and so 银行 is "yx": one reading per character
		{"重量", "zl"},
		{"快递单号", "kddh"},
		{"顺丰速运", "sfsy"},
		// Rare characters beyond GB 2312 come from the Unihan readings.
		{"龘", "d"},
		{"𠀀", ""}, // Extension B: no table entry, dropped
		{"😀 hi!", "hi"},
		{"  \t\n", ""},
	}
	for _, tt := range tests {
		if got := Initials(tt.in); got != tt.want {
			t.Errorf("Initials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Every character of GB 2312 level 1 (the 3755 most common) has a letter:
// the table is complete where agents write.
func TestInitialsTableCoversCommonCharacters(t *testing.T) {
	// A sample from each letter's range of GB 2312 level 1 and a few
	// everyday after-sales words.
	common := "啊八擦搭鹅发嘎哈击卡拉妈拿哦啪期然撒塌挖昔压匝" +
		"亲您好订单物流快递退款换货发票地址电话收件人客服售后质量破损补发签收"
	for _, r := range common {
		if got := Initials(string(r)); len(got) != 1 {
			t.Errorf("Initials(%q) = %q, want one letter", string(r), got)
		}
	}
	table := hanInitials()
	if n := len(table); n != hanLast-hanFirst+1 {
		t.Fatalf("table has %d entries, want %d", n, hanLast-hanFirst+1)
	}
	if missing := strings.Count(table, "_"); missing > 200 {
		t.Errorf("%d characters without a reading; the table looks damaged", missing)
	}
	for i := 0; i < len(table); i++ {
		if c := table[i]; c != '_' && (c < 'a' || c > 'z') {
			t.Fatalf("table entry U+%04X is %q, want a-z or _", hanFirst+i, c)
		}
	}
}

func BenchmarkInitials(b *testing.B) {
	s := "亲，您的订单{order_no}已由{carrier}发出，单号{tracking_no}，请注意查收～"
	for b.Loop() {
		Initials(s)
	}
}
