// Package push is the shop's side of WeChat customer service: the gateway
// behind a mini program's one message-push URL (消息推送).
//
// Once push is on, a user's message reaches the web console only if the
// URL answers transfer_customer_service, and the same URL also carries
// logistics (add_express_path) and order events (trade_manage_*) that the
// shop's systems want. The gateway verifies and decrypts each push by
// WeChat's rules (package wxcrypto), reads it in either format (package
// wire), answers within a hard budget with no network call on that path,
// records it durably, and fans it out to the shop's targets through an
// outbox.
//
// Invariants, each with a test:
//   - a duplicate push gets exactly the reply the original got, and is
//     dispatched once (messages are keyed by MsgId + FromUserName, events by
//     FromUserName + CreateTime + Event + the event's key fields);
//   - events are answered "success", never encrypted and never transferred;
//   - every accepted push reaches every matching target at least once, as
//     signed JSON, across restarts; a slow or dead target delays neither the
//     reply nor the other targets;
//   - nothing customer-identifying (openid, message text) is logged at Info.
//
// The package holds the domain (Server, Config, Policy, the Store
// interface, the dispatcher, status and doctor). Storage is package
// push/store (SQLite or PostgreSQL), the workstation feed push/feed, and a
// simulated WeChat sender push/wechattest. Command-line wiring and config
// files live in cmd/kfsidebar.
package push
