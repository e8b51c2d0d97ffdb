// Package sidebar is everything the agent sees: the embedded custom element
// (plain JS and CSS, no build step), the websocket hub that answers "which
// customer is this chat?", the masking of what it shows, and the bindings
// and reveals the agent leaves behind. The order backends behind it are in
// sidebar/shop and the packages beside it; the sidebar knows them only as
// a shop.Backend.
//
// # Serving
//
// The proxy hands every request under console.ReservedPrefix on the console
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
// request; every answer echoes the seq of the request it answers. A page
// that asks faster than it reads is answered in full: the hub stops
// reading its requests while 32 answers wait for it (SendBuffer of
// HubOptions), and drops a tab only when a write to it stalls for 10 s.
// Anything else than a JSON object in a text frame of at most 64 KiB
// ends the connection with a close frame that says why (1009 too large,
// 1003 binary, 1008 malformed), after the answers already queued.
// Selection requests (select, pick, refresh, bind, unbind, others)
// replace one another: the page renders only answers to its latest one.
// Side requests (reveal, search) are answered beside them, without
// touching the selection; evidence refines the current selection.
//
// Page → hub, selection requests:
//
//	{"type":"select","seq":N,"opened":"…","uin":"…","avatar":"…","nickname":"…","peers":P}
//	    The selected chat changed. opened is the fansuin of the console's
//	    own history request for it (kfmsg?action=getfansmsglist, seen in
//	    the page's resource timing, never by wrapping the console's XHR),
//	    uin the fans_uin from the card's data-reactid, avatar the card's
//	    <img src>, nickname its text, peers how many cards in the list
//	    look the same (same avatar and nickname, itself included); any
//	    may be empty. It supersedes every earlier request. The page sends
//	    a select for a click on another card even when it looks exactly
//	    like the open one, and for a selection that moved to a look-alike
//	    card right after a click or key press.
//	{"type":"evidence","seq":N,"for":S,"opened":"…"}
//	    The console's history request for the selection S (the seq of
//	    the select) was seen after the select was sent; "" takes back an
//	    earlier one (two requests that disagree). Ignored unless S is the
//	    current selection; answered like a push.
//	{"type":"pick","seq":N,"openid":"…"}
//	    The agent chose one of the candidates of the last "ambiguous"
//	    answer; any other openid is answered with an error.
//	{"type":"refresh","seq":N}
//	    Look the current chat up again (the retry button, and the page's
//	    own retry when a paused backend's retry time has come).
//	{"type":"bind","seq":N,"customer_id":"…"}
//	    Bind the current chat to a customer of the latest search results
//	    (any other id is an error), then show that customer. The chat key
//	    is the openid when known, else "uin:<fans_uin>" (the card's, or
//	    the history request's); never the avatar, which WeChat's default
//	    picture shares among thousands of users.
//	{"type":"unbind","seq":N}
//	    Forget the current chat's binding (every key it has), then
//	    resolve it again: the undo of bind.
//	{"type":"others","seq":N}
//	    "不是这位？": offer every user the chat may be (ambiguous, reason
//	    others), or the search when there is nobody else.
//
// Page → hub, side requests:
//
//	{"type":"reveal","seq":N,"field":"phone"|"address:<order_no>"|"extra:<label>"|"extra:<order_no>:<label>"}
//	    Show the real value of a masked field of the customer on screen.
//	    The hub records (openid, field, time) in HubOptions.Reveals first;
//	    a reveal it cannot record is refused. A field of a customer the
//	    tab revealed within the minute is shown without another record. A
//	    tab may reveal 10 at once, then one every 2 s; past that, and while
//	    4 reveals wait to be recorded, a reveal is refused (查看太频繁) and
//	    the tab stays. While `orders import` holds the database, a reveal
//	    waits a second for it and is then refused (正在导入订单).
//	{"type":"search","seq":N,"query":"…"}
//	    Find customers by phone, order number or name (shop.Backend.Search,
//	    at most 10). A newer search cancels a running one.
//
// Hub → page:
//
//	{"type":"loading","seq":N,"identity":"pending"}
//	    识别中: the evidence cannot tell yet who the chat is (a fans_uin
//	    not learned yet, look-alike users, a card that disagrees with the
//	    history request). The hub waits up to HubOptions.IdentifyWait for
//	    stronger evidence, then answers with the user, or asks the agent
//	    (ambiguous), or unknown.
//	{"type":"loading","seq":N,"openid":"…","identity":"…"}
//	    The chat is this user (openid empty for a chat bound without
//	    one); the shop is being asked. identity says how the hub knows:
//	    confirmed (已识别: the history request or the card's fans_uin),
//	    avatar (按头像匹配: the only known user with this avatar and
//	    nickname), queued (按排队消息匹配: the chat's queued message
//	    matches this user's message and nobody else's at the shop's push
//	    gateway), picked (客服选择), bound (已关联).
//	{"type":"customer","seq":N,"openid":"…","nickname":"…","identity":"…","customer":{…},
//	 "masked":["phone","address:<order_no>",…],"fetched_at":"…",
//	 "bound":true,"stale":true,"error":"…","health":{"state":"open","retry_at":"…"}}
//	    The answer: nickname is the chat's, customer is a shop.Customer with
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
//	{"type":"ambiguous","seq":N,"reason":"lookalike"|"others","candidates":[{"openid":"…","nickname":"…","avatar":"…","seen_at":"…"}]}
//	    The evidence cannot tell who the chat is (lookalike), or the
//	    agent asked for the others; the agent picks one, or searches.
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
//	{"type":"source","seq":N,"openid":"…","source":{"raw":"order:E2026…","label":"从订单进入",
//	 "fields":[{"name":"order_no","value":"E2026…"}],"at":"…"}}
//	    来源: where the user shown came from, the contact button's
//	    session-from that the shop's push gateway received
//	    (user_enter_tempsession's SessionFrom; see Hub.SessionFrom). raw is
//	    the value as it came; label and fields come from the first of
//	    HubOptions.Sources that matches (none: raw only). Sent after a
//	    customer or not_in_shop answer naming a user whose 来源 is known,
//	    and at once when a 来源 arrives for the user a sidebar shows, with
//	    the seq of the selection. The page keeps it by openid: a field
//	    order_no opens that order in the card, sku names the product.
//	{"type":"tracking","seq":N,"openid":"…","tracking":{"order_no":"…","tracking_no":"…","event":"到达广州集包地","at":"…"}}
//	    A logistics push (add_express_path; see Hub.Tracking) newer than
//	    what the order on screen shows: the page updates that order's
//	    latest step in place, without asking the shop. Matched by the
//	    waybill, or by the order number for an order without one. Later
//	    answers carry the step in the order itself until the shop's own
//	    answer is as new.
//
// Answers to a select: loading then customer, unknown or error; or
// directly unknown or ambiguous. A binding of the chat comes first: a
// bound chat is answered with the bound customer (shop.Backend.Customer). A
// newer selection request supersedes an older one: its running lookup is
// cancelled and its late answer is never sent. Each lookup runs off the
// read loop with HubOptions.LookupTimeout. A backend that is a shop.Fresher is
// asked through LookupResult, for fetched_at and stale; one that is a
// shop.HealthReporter adds health.
//
// Push: the session map signals every change. Every tab's selection is
// then resolved again and, when that changes the user shown or how the
// hub knows, answered again with the same seq. That is how the customer
// appears when the agent clicked a chat before the console's accept
// response was scanned, and how a view that new records contradict is
// corrected at once. The agent's pick stands, unless stronger evidence
// that was not there when they picked names someone else.
//
// 来源 and tracking come from the shop's push gateway, not from the page:
// whoever subscribes to its feed (cmd wires package gatewayfeed) calls
// Hub.SessionFrom and Hub.Tracking, which never block and reach the
// sidebars showing that user or order.
//
// Identity: the hub shows a customer only when the resolver
// (chats.Sessions.Resolve) names exactly one user with nothing stronger
// against it; see its doc comment for the evidence and the invariant.
//
// The hub pings every 25 s and drops a tab that has not answered for 60 s,
// or whose outgoing queue is full; the page reconnects by itself (backoff
// 0.5 s to 10 s with jitter) and sends its selection again.
//
// # In the page
//
// <kf-sidebar id="kfsidebar-root"> with an open shadow root; attributes
// data-state (connecting, idle, loading, customer, unknown, ambiguous,
// error), data-openid while a customer is shown, and data-identity
// (pending while 识别中, then confirmed, avatar, queued, picked or
// bound); each order element carries data-order-no (the one the 来源
// names also data-source, and one a tracking push updated data-live),
// the 来源 box data-source-raw, each quick reply button data-quick-reply. The
// panel narrows the page (or floats over it: the agent's choice, kept in
// localStorage kfsidebar.layout), its width is dragged at its left edge
// (kfsidebar.width), and Alt+K anywhere in the console searches the quick
// replies. A quick reply or an order summary goes into the console's
// reply box (pre#editor) at the caret, through execCommand insertText,
// so the console's React state sees it as typing; it is never sent.
package sidebar
