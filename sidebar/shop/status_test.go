package shop

import (
	"testing"
)

func TestNormalizeOrderStatus(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"shipped", "shipped", true},
		{" Shipped ", "shipped", true},
		{"PARTIALLY-SHIPPED", "partially_shipped", true},
		{"partially shipped", "partially_shipped", true},
		{"canceled", "cancelled", true},
		{"已发货", "shipped", true},
		{"待付款", "pending", true},
		{"20", "paid", true},
		{"250", "cancelled", true},
		{"WAIT_BUYER_CONFIRM_GOODS", "shipped", true},
		{"TRADE_FINISHED", "completed", true},
		{"TRADE_CLOSED", "closed", true},
		{"sent", "", false},
		{"", "", false},
		{"99", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeOrderStatus(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("normalizeOrderStatus(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
