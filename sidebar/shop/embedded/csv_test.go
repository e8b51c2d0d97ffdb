package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kfsidebar/kfsidebar/internal/jsonrecord"
)

// TestImportCSV imports what Excel exports: Chinese headers, one row per
// item, amounts in yuan, Excel's times, quoted cells with commas.
func TestImportCSV(t *testing.T) {
	b, _ := newTestBackend(t)
	ctx := context.Background()
	file := "用户openid,姓名,手机,标签,订单号,下单时间,订单状态,实付金额,商品名称,数量,单价,快递公司,快递单号,收货地址\r\n" +
		"oA1,张三,13812345678,老客户；VIP,2026112200001,2026-11-20 10:00,已发货,\"1,299.00\",保温杯,1,999.00,顺丰,SF1234567890,\"北京市, 朝阳区\"\r\n" +
		"oA1,张三,13812345678,,2026112200001,,,,杯套,2,150,,,\r\n" +
		",,,,,,,,,,,,,\r\n" +
		"oB2,李四,,,2026112200002,2026/11/21 9:05,completed,¥59.5,袜子,1,59.5,,,\r\n"
	stats, err := b.ImportCSV(ctx, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if stats != (ImportStats{Customers: 2, Orders: 2, Items: 3}) {
		t.Errorf("stats %+v", stats)
	}
	c, err := b.Lookup(ctx, "oA1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "张三" || strings.Join(c.Tags, "|") != "老客户|VIP" || len(c.Orders) != 1 {
		t.Fatalf("customer %+v", c)
	}
	o := c.Orders[0]
	want := time.Date(2026, 11, 20, 10, 0, 0, 0, time.Local)
	if o.AmountFen != 129900 || o.Status != "shipped" || !o.CreatedAt.Equal(want) || len(o.Items) != 2 ||
		o.Items[1].Title != "杯套" || o.Items[1].Qty != 2 || o.Items[1].PriceFen != 15000 || o.Address != "北京市, 朝阳区" {
		t.Errorf("order %+v", o)
	}
	if c, err := b.Lookup(ctx, "oB2"); err != nil || c.Orders[0].AmountFen != 5950 {
		t.Errorf("second customer: %+v, %v", c, err)
	}
}

// TestImportCSVNamesTheLine: a bad cell, or a record Import refuses, is
// named by its line and column, and nothing is imported.
func TestImportCSVNamesTheLine(t *testing.T) {
	const header = "openid,name,order_no,created_at,status,amount,title,qty,price\n"
	for _, tt := range []struct{ name, file, want string }{
		{"bad amount", header + "oA,张三,1,2026-11-20 10:00,paid,12.345,杯,1,1\n", "line 2, column amount: want an amount in yuan"},
		{"bad qty", header + "oA,张三,1,2026-11-20 10:00,paid,1,杯,1,1\noA,张三,1,,,,杯,two,1\n", "line 3, column qty: want a whole number"},
		{"bad time", header + "oA,张三,1,20 Nov,paid,1,杯,1,1\n", "line 2, column created_at: want a time"},
		{"refused by Import", header + "oA,张三,1,2026-11-20 10:00,paid,1,杯,1,1\noA,张三,1,,,,盖,0,1\n", "line 3, column qty:"},
		{"unknown status", header + "oA,张三,1,2026-11-20 10:00,发霉了,1,杯,1,1\n", "line 2, column status:"},
		{"unknown column", "openid,nmae\noA,张三\n", `line 1: unknown column "nmae"`},
		{"no openid", "name\n张三\n", "no openid column"},
		{"empty", "", "the file is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, db := newTestBackend(t)
			before := dumpOrderTables(t, db)
			_, err := b.ImportCSV(context.Background(), strings.NewReader(tt.file))
			var ie *jsonrecord.ImportError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want an ImportError with %q", err, tt.want)
			}
			if dumpOrderTables(t, db) != before {
				t.Error("a refused file changed the database")
			}
		})
	}
}

func TestYuanToFen(t *testing.T) {
	for in, want := range map[string]int64{"129": 12900, "129.5": 12950, "¥1,299.00": 129900, "0.01": 1, "-3.10": -310, "59.50元": 5950} {
		if got, err := yuanToFen(in); got != want || err != nil {
			t.Errorf("yuanToFen(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1.234", "abc", "1.2.3", "¥"} {
		if _, err := yuanToFen(bad); err == nil {
			t.Errorf("yuanToFen(%q) accepted", bad)
		}
	}
}

// FuzzCSVToImport: any CSV either converts to a JSON document or is an
// error; it never panics.
func FuzzCSVToImport(f *testing.F) {
	f.Add("openid,name,order_no,title,qty,amount\noA,张三,1,杯,2,\"1,299.00\"\n")
	f.Add("用户openid,订单号,商品名称\noA,1,\n")
	f.Fuzz(func(t *testing.T, file string) {
		doc, _, err := csvToImport(strings.NewReader(file))
		if err == nil && !json.Valid(doc) {
			t.Fatalf("csvToImport(%q) = %s: not JSON", file, doc)
		}
	})
}
