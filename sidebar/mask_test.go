package sidebar

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/sidebar/shop"
)

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812345678", "138****5678"},
		{"138 1234 5678", "138****5678"},
		{"+8613812345678", "+86****5678"},
		{"0571-8888999", "057****8999"},
		{"8888999", "88****99"},
		{"12345", "****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := maskPhone(tt.in); got != tt.want {
			t.Errorf("maskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"浙江省杭州市西湖区文三路398号 东信大厦5楼 林小满 收", "浙江省杭州市西湖区****"},
		{"北京市朝阳区望京街道阜通东大街6号院3号楼 王建国 收", "北京市朝阳区****"},
		{"内蒙古自治区呼和浩特市新城区 某路1号", "内蒙古自治区呼和浩特市新城区****"},
		{"新疆维吾尔自治区乌鲁木齐市天山区人民路", "新疆维吾尔自治区乌鲁木齐市天山区****"},
		// Three levels at most: 南区 is part of the street.
		{"广东省深圳市南山区科技园南区高新南七道", "广东省深圳市南山区****"},
		// The 市 of 超市 comes after the street number.
		{"文三路398号华联超市楼上", "文三路****"},
		{"上海市", "上海市"},
		{"山东省济南市市中区经七路", "山东省济南市市中区****"},
		{"贵州省黔东南苗族侗族自治州凯里市北京东路", "贵州省黔东南苗族侗族自治州凯里市****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := maskAddress(tt.in); got != tt.want {
			t.Errorf("maskAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"330106199001011234", "330****1234"},
		{"zhang.san@example.com", "z****m"},
		{"张三", "****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := maskValue(tt.in); got != tt.want {
			t.Errorf("maskValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskCustomer(t *testing.T) {
	c := &shop.Customer{
		OpenID: "oA", Name: "王爱丽", Phone: "13812345678",
		Extra: []shop.Extra{
			{Label: "身份证", Value: "330106199001011234", Mask: true, Href: "https://shop.example/id/330106199001011234"},
			{Label: "积分", Value: "1200"},
		},
		Orders: []shop.Order{
			{OrderNo: "N1", Address: "浙江省杭州市西湖区文三路398号", Extra: []shop.Extra{{Label: "收件电话", Value: "13900001111", Mask: true}}},
			{OrderNo: "N2"},
		},
	}
	before := *c
	beforeOrders := append([]shop.Order(nil), c.Orders...)
	m := maskCustomer(c)

	if !reflect.DeepEqual(*c, before) || !reflect.DeepEqual(c.Orders, beforeOrders) || c.Orders[0].Extra[0].Value != "13900001111" {
		t.Fatal("maskCustomer changed its argument")
	}
	got := m.customer
	if got.Phone != "138****5678" || got.Orders[0].Address != "浙江省杭州市西湖区****" ||
		got.Extra[0].Value != "330****1234" || got.Extra[0].Href != "" || got.Extra[1].Value != "1200" ||
		got.Orders[0].Extra[0].Value != "139****1111" {
		t.Errorf("masked customer = %+v", got)
	}
	wantFields := map[string]string{
		"phone":         "13812345678",
		"extra:身份证":     "330106199001011234",
		"address:N1":    "浙江省杭州市西湖区文三路398号",
		"extra:N1:收件电话": "13900001111",
	}
	if !reflect.DeepEqual(m.fields, wantFields) {
		t.Errorf("fields = %v, want %v", m.fields, wantFields)
	}
	if want := []string{"phone", "extra:身份证", "address:N1", "extra:N1:收件电话"}; !reflect.DeepEqual(m.names, want) {
		t.Errorf("names = %v, want %v", m.names, want)
	}
	for _, secret := range []string{"13812345678", "文三路", "330106199001011234", "13900001111"} {
		if strings.Contains(mustJSON(t, got), secret) {
			t.Errorf("masked customer still contains %q", secret)
		}
	}
}
