// Package sidebar is everything the agent sees: the embedded custom element
// (plain JS and CSS, no build step), the websocket hub that answers "which
// customer is this chat?", and the order backends behind it.
//
// # Serving
//
// The proxy hands every request under proxy.ReservedPrefix on the console
// origin to a Hub, so the page talks to kfsidebar as if it were the
// console itself (same origin: no CORS, no mixed content):
//
//   - sidebar.js: the script, with sidebar.css inside it as a string (the
//     styles are applied as a constructable stylesheet, which the page's
//     CSP style-src does not govern). Cache-Control: no-cache with a
//     strong ETag. The injected tag is sidebar.js?t=TOKEN; the script
//     reads the token from its own URL.
//   - ws: the websocket. Refused with 403 unless Origin is one of
//     HubOptions.AllowedOrigins and the query parameter t is the token, so
//     neither another site nor another local program can read customer
//     data.
//
// # Protocol
//
// One websocket per tab, JSON text frames, at most 64 KiB from the page.
// Every request carries seq, a number the page increases with each
// request; every answer echoes the seq of the request it answers, so the
// page renders only answers to its latest request.
//
// Page → hub:
//
//	{"type":"select","seq":N,"uin":"…","avatar":"…","nickname":"…"}
//	    The selected chat changed. uin is the fans_uin from the card's
//	    data-reactid, avatar the card's <img src>, nickname its text; any
//	    may be empty. It supersedes every earlier request.
//	{"type":"pick","seq":N,"openid":"…"}
//	    The agent chose one of the candidates of the last "ambiguous"
//	    answer; any other openid is answered with an error.
//	{"type":"refresh","seq":N}
//	    Look the current chat up again (the retry button).
//
// Hub → page:
//
//	{"type":"loading","seq":N,"openid":"…"}
//	    The chat is this user; the shop is being asked.
//	{"type":"customer","seq":N,"openid":"…","nickname":"…","customer":{…}}
//	    The answer: nickname is the chat's, customer is a Customer.
//	{"type":"unknown","seq":N,"reason":"no_session"}
//	    Nobody known matches the chat (yet).
//	{"type":"unknown","seq":N,"reason":"not_in_shop","openid":"…"}
//	    The user is known, the shop has no such customer.
//	{"type":"ambiguous","seq":N,"candidates":[{"openid":"…","nickname":"…","avatar":"…","seen_at":"…"}]}
//	    Several users share the avatar; the agent picks one.
//	{"type":"error","seq":N,"message":"…"}
//	    The shop failed or timed out, or the request was invalid. message
//	    is short, for the agent, and holds no internals.
//
// Answers to a select: loading then customer, unknown or error; or
// directly unknown or ambiguous. A newer request supersedes an older one:
// its running lookup is cancelled and its late answer is never sent. Each
// lookup runs off the read loop with HubOptions.LookupTimeout.
//
// Push: the session map signals every change. A tab whose latest answer is
// unknown/no_session or ambiguous is then resolved again and, when that
// gives something new, answered again with the same seq. That is how the
// customer appears when the agent clicked a chat before the console's
// accept response was scanned.
//
// The hub pings every 25 s and drops a tab that has not answered for 60 s,
// or whose outgoing queue is full; the page reconnects by itself (backoff
// 0.5 s to 10 s with jitter) and sends its selection again.
//
// # In the page
//
// <kf-sidebar id="kfsidebar-root"> with an open shadow root; attributes
// data-state (connecting, idle, loading, customer, unknown, ambiguous,
// error) and data-openid while a customer is shown; each order element
// carries data-order-no.
package sidebar
