package shop

import (
	"strings"
)

// refundStatuses are the after-sales states, in the order they happen.
var refundStatuses = []string{"none", "requested", "approved", "returned", "refunded", "rejected"}

// orderStatusSpellings lists, for each status the sidebar knows, the other
// spellings shop exports use (the import format lists them). Keys are
// compared lower-cased with "-" and " " as "_".
var orderStatusSpellings = []struct {
	status  string
	aliases []string
}{
	{"pending", []string{"unpaid", "wait_pay", "wait_buyer_pay", "10", "待付款", "待支付", "未付款"}},
	{"paid", []string{"wait_seller_send_goods", "to_ship", "20", "待发货", "已付款", "已支付"}},
	{"partially_shipped", []string{"seller_consigned_part", "21", "部分发货"}},
	{"shipped", []string{"wait_buyer_confirm_goods", "30", "已发货", "待收货", "运输中"}},
	{"delivered", []string{"trade_buyer_signed", "已签收", "已收货"}},
	{"completed", []string{"complete", "finished", "trade_finished", "trade_success", "100", "已完成", "交易成功", "交易完成"}},
	{"cancelled", []string{"canceled", "trade_closed_by_taobao", "250", "已取消"}},
	{"closed", []string{"trade_closed", "trade_close", "200", "已关闭", "交易关闭"}},
	{"refunding", []string{"售后中", "退款中"}},
	{"refunded", []string{"已退款"}},
}

var canonicalOrderStatuses, orderStatuses = func() ([]string, map[string]string) {
	names := make([]string, 0, len(orderStatusSpellings))
	m := map[string]string{}
	for _, s := range orderStatusSpellings {
		names = append(names, s.status)
		m[s.status] = s.status
		for _, a := range s.aliases {
			m[a] = s.status
		}
	}
	return names, m
}()

var statusSeparators = strings.NewReplacer("-", "_", " ", "_")

// normalizeOrderStatus maps any accepted spelling to the status stored.
func normalizeOrderStatus(s string) (string, bool) {
	status, ok := orderStatuses[statusSeparators.Replace(strings.ToLower(strings.TrimSpace(s)))]
	return status, ok
}
