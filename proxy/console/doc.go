// Package console is the vocabulary of the WeChat customer-service web
// console (https://mpkf.weixin.qq.com) that the rest of kfsidebar speaks:
// a chat user learned from the console's traffic (Record, and where it was
// learned), what the page knows about the selected chat (Query) and the
// resolver's answer (Resolution), the avatar key that matches the same
// picture in the page and in the JSON, how a console request is classified
// (Endpoint, IsSettings, IsWaitingList), a queued user's message in the
// waiting list (WaitingMessage), the console hosts and the path prefix
// kfsidebar answers itself on the console origin.
//
// It imports the standard library only, so that every other package, the
// sidebar included, can use it without the MITM proxy, the parsers or the
// chat map.
package console
