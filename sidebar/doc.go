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
// request; every answer echoes the seq of the request it answers.
// Selection requests (select, pick, refresh, bind, unbind) replace one
// another: the page renders only answers to its latest one. Side requests
// (reveal, search) are answered beside them, without touching the
// selection.
//
// Page → hub, selection requests:
//
//	{"type":"select","seq":N,"uin":"…","avatar":"…","nickname":"…"}
//	    The selected chat changed. uin is the fans_uin from the card's
//	    data-reactid, avatar the card's <img src>, nickname its text; any
//	    may be empty. It supersedes every earlier request.
//	{"type":"pick","seq":N,"openid":"…"}
//	    The agent chose one of the candidates of the last "ambiguous"
//	    answer; any other openid is answered with an error.
//	{"type":"refresh","seq":N}
//	    Look the current chat up again (the retry button, and the page's
//	    own retry when a paused backend's retry time has come).
//	{"type":"bind","seq":N,"customer_id":"…"}
//	    Bind the current chat to a customer of the latest search results
//	    (any other id is an error), then show that customer. The chat key
//	    is the openid when known, else "uin:<fans_uin>", else
//	    "avatar:<AvatarKey>" (never an avatar several users share).
//	{"type":"unbind","seq":N}
//	    Forget the current chat's binding (every key it has), then
//	    resolve it again: the undo of bind.
//
// Page → hub, side requests:
//
//	{"type":"reveal","seq":N,"field":"phone"|"address:<order_no>"|"extra:<label>"|"extra:<order_no>:<label>"}
//	    Show the real value of a masked field of the customer on screen.
//	    The hub records (openid, field, time) in HubOptions.Reveals first;
//	    a reveal it cannot record is refused.
//	{"type":"search","seq":N,"query":"…"}
//	    Find customers by phone, order number or name (Backend.Search,
//	    at most 10). A newer search cancels a running one.
//
// Hub → page:
//
//	{"type":"loading","seq":N,"openid":"…"}
//	    The chat is this user (openid empty for a chat bound without
//	    one); the shop is being asked.
//	{"type":"customer","seq":N,"openid":"…","nickname":"…","customer":{…},
//	 "masked":["phone","address:<order_no>",…],"fetched_at":"…",
//	 "bound":true,"stale":true,"error":"…","health":{"state":"open","retry_at":"…"}}
//	    The answer: nickname is the chat's, customer is a Customer with
//	    the phone (138****5678), each order's address (the region kept,
//	    浙江省杭州市西湖区****) and each Extra marked mask hidden; masked
//	    lists the fields a reveal can show. fetched_at is when the shop
//	    answered; stale and error say the last refresh failed and this
//	    is the last good answer. bound says the agent bound the chat.
//	    health is there when the backend is degraded or paused (open:
//	    not called again until retry_at).
//	{"type":"unknown","seq":N,"reason":"no_session"}
//	    Nobody known matches the chat (yet).
//	{"type":"unknown","seq":N,"reason":"not_in_shop","openid":"…","bound":true}
//	    The user is known, the shop has no such customer (bound: the
//	    customer the chat is bound to is gone).
//	{"type":"ambiguous","seq":N,"candidates":[{"openid":"…","nickname":"…","avatar":"…","seen_at":"…"}]}
//	    Several users share the avatar; the agent picks one.
//	{"type":"error","seq":N,"message":"…","health":{…},"field":"…"}
//	    The shop failed or timed out, or the request was invalid. message
//	    is short, for the agent, and holds no internals. An error
//	    answering a reveal names its field.
//	{"type":"revealed","seq":N,"field":"…","value":"…"}
//	    The real value of a field, once the reveal is recorded.
//	{"type":"results","seq":N,"query":"…","customers":[{"id":"…","openid":"…","name":"…","phone":"138****5678","level":"…"}]}
//	    The customers a search found (an empty list when none); id is
//	    what bind takes.
//	{"type":"quick_replies","seq":0,"groups":[{"name":"…","source":"local"|"console","replies":[{"id":"…","title":"…","text":"…","initials":"…"}]}]}
//	    Pushed on connect and whenever the quick replies change. Texts
//	    hold the variables {nickname} {name} {order_no} {tracking_no}
//	    {carrier} {amount}, which the page fills.
//
// Answers to a select: loading then customer, unknown or error; or
// directly unknown or ambiguous. A binding of the chat comes first: a
// bound chat is answered with the bound customer (Backend.Customer). A
// newer selection request supersedes an older one: its running lookup is
// cancelled and its late answer is never sent. Each lookup runs off the
// read loop with HubOptions.LookupTimeout. A backend that is a Fresher is
// asked through LookupResult, for fetched_at and stale; one that is a
// HealthReporter adds health.
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
// carries data-order-no, each quick reply button data-quick-reply. The
// panel narrows the page (or floats over it: the agent's choice, kept in
// localStorage kfsidebar.layout), its width is dragged at its left edge
// (kfsidebar.width), and Alt+K anywhere in the console searches the quick
// replies. A quick reply or an order summary goes into the console's
// reply box (pre#editor) at the caret, through execCommand insertText,
// so the console's React state sees it as typing; it is never sent.
package sidebar
