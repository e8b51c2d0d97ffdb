package mpkftest

import _ "embed"

// DemoOrdersJSON is the demo shop (拾光生活馆: tea, tea ware, clothes) in
// the import format of `kfsidebar orders import`: {"customers": [...],
// "orders": [...]}, one customer per Roster fan except 赵先生, each with one
// to six orders, newest first. Amounts are in fen and equal the sum of the
// items. Order status is the shop's own label (已发货, 待发货, 已签收,
// 已完成, 待付款, 已取消, 已退款), which the importer maps to its statuses;
// refund status is "none", "requested" (陈晓雯's cracked cup) or
// "refunded" (吴佩琪's shirt). Every look-alike in Roster (default
// avatar, 微信用户) is a different customer with a different name, phone
// and orders, so showing the wrong one is plain to see.
//
//go:embed orders.json
var DemoOrdersJSON []byte
