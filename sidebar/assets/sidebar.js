// kfsidebar: the customer sidebar injected into the WeChat customer-service
// web console. Plain JavaScript, no build step: the Go side (sidebar/assets.go)
// only replaces the CSS placeholder below with sidebar.css. The websocket
// protocol is documented in sidebar/doc.go; the names here match it.
//
// Everything that reads the console's DOM degrades gracefully: class names
// are hints, the avatar image near the click is the fallback that always
// works. Everything the sidebar draws is built with createElement and
// textContent, never from HTML strings. Masked values (phone, address) come
// masked from the hub; the real value arrives only when the agent reveals
// it, and the hub records that.
(() => {
  'use strict';

  const SIDEBAR_CSS = "/*kfsidebar:css*/";

  const TAG = 'kf-sidebar';
  const ROOT_ID = 'kfsidebar-root';
  // localStorage keys: per console origin, shared by its tabs.
  const COLLAPSED_KEY = 'kfsidebar.collapsed';
  const LAYOUT_KEY = 'kfsidebar.layout'; // "overlay", or absent: the page narrows
  const WIDTH_KEY = 'kfsidebar.width';
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  // A paused sidebar that reconnects shows itself again unless the hub
  // says, within this long, that kfsidebar is still paused.
  const PAUSE_CONFIRM_MS = 1500;
  const HINT_AFTER_FAILURES = 3;
  const DEFAULT_WIDTH = 340; // px
  const MIN_WIDTH = 280;
  const MAX_WIDTH = 720;
  const MIN_PAGE_WIDTH = 480; // px the console keeps, however wide the panel
  const STALE_AFTER_MS = 60000;
  const SEARCH_DEBOUNCE_MS = 250;
  const TICK_MS = 1000;
  // How long after the agent's click or key press a change of the
  // selected chat, or a history request of the console, counts as caused
  // by it.
  const INPUT_WINDOW_MS = 2000;
  // How far before a selection change noticed without any input (the
  // console selecting a chat by itself) its history request may start:
  // the console asks in the same task that re-renders the list.
  const SETTLE_MS = 100;

  // One sidebar per top-level document.
  if (window.top !== window.self) return;
  if (!window.customElements || customElements.get(TAG) || document.getElementById(ROOT_ID)) return;

  // Our own script URL (…/__kfsidebar/sidebar.js?t=…) carries the
  // sidebar token, and the websocket sits beside it: no path is spelled
  // twice.
  const WS_URL = (() => {
    const s = document.currentScript;
    try {
      const src = new URL(s && s.src ? s.src : '', location.href);
      const ws = new URL('ws', src);
      ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      ws.search = new URLSearchParams({ t: src.searchParams.get('t') || '' }).toString();
      return ws.href;
    } catch {
      return '';
    }
  })();

  // ---- Reading the console's DOM -------------------------------------

  // Clicks inside these never name a chat: the open chat's messages carry
  // avatars too (the agent's own among them), and so does the header with
  // the agent's switches.
  const NOT_A_CHAT = '.message_box, [class*="message_"], .chat_edit_input, [contenteditable="true"], input, textarea, select, ' +
    '[class*="header"], header, button, [role="switch"], [role="button"]';
  const UIN_RE = /\$(\d+)$/;
  const MAX_CARD_HEIGHT = 200; // px; taller than any chat card: we climbed into the list
  // The console's reply box; the others are fallbacks should it change.
  const EDITOR = 'pre#editor, #editor[contenteditable], .chat_edit_input [contenteditable="true"]';
  // Keys pressed in these type text; they never move the selection.
  const EDITABLE = '[contenteditable=""], [contenteditable="true"], input, textarea, select';

  function isAvatar(img) {
    if (!img.src) return false;
    try {
      const u = new URL(img.src, location.href);
      return /(^|\.)qlogo\.cn$/i.test(u.hostname) || /\/mm(head|open)\//.test(u.pathname);
    } catch {
      return false;
    }
  }

  function avatarsIn(el) {
    const found = [];
    if (el.tagName === 'IMG' && isAvatar(el)) found.push(el);
    for (const img of el.querySelectorAll('img')) if (isAvatar(img)) found.push(img);
    return found;
  }

  function uinOf(el) {
    const m = UIN_RE.exec(el.getAttribute('data-reactid') || '');
    return m ? m[1] : '';
  }

  // readUIN finds the fans_uin React 0.14 put in data-reactid ("….$<uin>")
  // on the card, a close ancestor or a descendant.
  function readUIN(card) {
    let el = card;
    for (let i = 0; el && el !== document.body && i < 4; i++, el = el.parentElement) {
      const uin = uinOf(el);
      if (uin) return uin;
    }
    for (const d of card.querySelectorAll('[data-reactid]')) {
      const uin = uinOf(d);
      if (uin) return uin;
    }
    return '';
  }

  // readCard says who a chat card is: {uin, avatar, nickname}.
  function readCard(card) {
    const img = card.querySelector('.card_pic img') || avatarsIn(card)[0];
    const nickEl = card.querySelector('.card_content_nick') || card.querySelector('[class*="nick"]');
    let nickname = nickEl ? nickEl.textContent.trim() : '';
    if (!nickname && img) nickname = (img.getAttribute('alt') || img.getAttribute('title') || '').trim();
    if (!nickname) nickname = (card.innerText || card.textContent || '').trim().split('\n')[0].trim().slice(0, 32);
    return { uin: readUIN(card), avatar: img ? img.src : '', nickname };
  }

  // cardFromClick finds the chat card around a clicked element: the
  // console's .card, else the largest close ancestor that holds exactly
  // one avatar image.
  function cardFromClick(el) {
    const card = el.closest('.card');
    if (card && (avatarsIn(card).length || readUIN(card))) return card;
    if (el.closest(NOT_A_CHAT)) return null;
    let best = null;
    for (let n = el, i = 0; n && n !== document.body && i < 8; n = n.parentElement, i++) {
      const count = avatarsIn(n).length;
      if (count > 1 || n.getBoundingClientRect().height > MAX_CARD_HEIGHT) break;
      if (count === 1) best = n;
    }
    return best;
  }

  // findSelected finds the chat the console shows as selected.
  function findSelected() {
    const sel = document.querySelector('.card_selected');
    if (sel) return sel.closest('.card') || sel;
    for (const el of document.querySelectorAll('[class*="selected"]')) {
      if (avatarsIn(el).length === 1) return el;
    }
    return null;
  }

  function identity(chat) {
    return chat ? `${chat.uin}|${chat.avatar}|${chat.nickname}` : '';
  }

  function isEmpty(chat) {
    return !chat.uin && !chat.avatar && !chat.nickname;
  }

  // cardsAround lists the chat cards of the list a card is in: the
  // console's .card elements, else the card's siblings that show an
  // avatar.
  function cardsAround(card) {
    if (card.matches('.card')) return [...document.querySelectorAll('.card')];
    const p = card.parentElement;
    return p ? [...p.children].filter((c) => c === card || avatarsIn(c).length === 1) : [card];
  }

  // readChat says who a chat card is and where it sits: readCard's
  // {uin, avatar, nickname}, its position in the list, and how many cards
  // there look the same (same avatar and nickname, itself included).
  // Look-alike cards cannot be told apart by looks, and without
  // data-reactid only their position tells the console's selection moved.
  function readChat(card) {
    const chat = readCard(card);
    const cards = cardsAround(card);
    chat.index = cards.indexOf(card);
    chat.peers = 0;
    for (const c of cards) {
      const o = c === card ? chat : readCard(c);
      if (o.avatar === chat.avatar && o.nickname === chat.nickname) chat.peers++;
    }
    return chat;
  }

  // historyUIN is the fansuin of the console's request for a chat's
  // history (/cgi-bin/kfmsg?action=getfansmsglist&fansuin=…), which the
  // console makes when the agent opens a chat; "" for any other URL.
  function historyUIN(name) {
    try {
      const u = new URL(name, location.href);
      if (u.origin !== location.origin || !/\/cgi-bin\/kfmsg\/?$/.test(u.pathname)) return '';
      if (u.searchParams.get('action') !== 'getfansmsglist') return '';
      const uin = (u.searchParams.get('fansuin') || '').trim();
      return /^\d+$/.test(uin) ? uin : '';
    } catch {
      return '';
    }
  }

  // ---- Writing into the console's reply box ----------------------------

  // The caret the agent last had in the reply box, so a reply goes where
  // they were typing even after they clicked into the sidebar. The
  // selectionchange event comes late (it is queued), so the events that
  // move the caret synchronously save it too.
  let editorRange = null;
  function saveCaret() {
    const sel = document.getSelection();
    if (!sel || !sel.rangeCount) return;
    const ed = document.querySelector(EDITOR);
    const r = sel.getRangeAt(0);
    if (ed && ed.contains(r.startContainer) && ed.contains(r.endContainer)) editorRange = r.cloneRange();
  }
  for (const type of ['selectionchange', 'input', 'keyup', 'mouseup', 'focusout']) {
    document.addEventListener(type, saveCaret, true);
  }

  // insertIntoEditor types text into the console's reply box at the caret
  // (else at its end) the way the browser does for typing: execCommand
  // insertText fires beforeinput and input, so React's own state (the
  // draft the console sends) follows. Should that command be gone, the
  // text is inserted by hand and an input event dispatched. Nothing is
  // ever sent: the agent reads, edits and sends. The caret ends after the
  // inserted text.
  function insertIntoEditor(text) {
    const ed = document.querySelector(EDITOR);
    if (!ed) return false;
    ed.focus({ preventScroll: true });
    const sel = document.getSelection();
    let range = null;
    if (editorRange && ed.contains(editorRange.startContainer) && ed.contains(editorRange.endContainer)) range = editorRange;
    if (!range) {
      range = document.createRange();
      range.selectNodeContents(ed);
      range.collapse(false);
    }
    try {
      sel.removeAllRanges();
      sel.addRange(range);
    } catch {
      range = document.createRange();
      range.selectNodeContents(ed);
      range.collapse(false);
      sel.removeAllRanges();
      sel.addRange(range);
    }
    const before = ed.textContent;
    let done = false;
    try {
      done = document.execCommand('insertText', false, text) && ed.textContent !== before;
    } catch {
      done = false;
    }
    if (!done) {
      const r = sel.rangeCount ? sel.getRangeAt(0) : range;
      r.deleteContents();
      const node = document.createTextNode(text);
      r.insertNode(node);
      r.setStartAfter(node);
      r.collapse(true);
      sel.removeAllRanges();
      sel.addRange(r);
      ed.dispatchEvent(new InputEvent('input', { inputType: 'insertText', data: text, bubbles: true }));
    }
    if (sel.rangeCount) editorRange = sel.getRangeAt(0).cloneRange();
    return true;
  }

  // copyText puts text on the clipboard: the Clipboard API where the page
  // may use it, else the old copy command on a hidden textarea.
  async function copyText(text, shadow) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch {
      // Denied or unfocused: try the old way.
    }
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'copy-buffer';
    shadow.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }

  // ---- Formatting -----------------------------------------------------

  // The canonical statuses of the import format (sidebar/import.go) as
  // badges: [text, tone, kind]. kind says which badge it is: pay, ship or
  // refund. Any other status is shown as it came.
  const ORDER_STATUS = {
    pending: ['待付款', 'warn', 'pay'], paid: ['待发货', 'info', 'ship'], partially_shipped: ['部分发货', 'info', 'ship'],
    shipped: ['已发货', 'info', 'ship'], delivered: ['已签收', 'ok', 'ship'], completed: ['已完成', 'ok', 'ship'],
    cancelled: ['已取消', 'muted', 'pay'], canceled: ['已取消', 'muted', 'pay'], closed: ['已关闭', 'muted', 'pay'],
    refunding: ['售后中', 'danger', 'refund'], refunded: ['已退款', 'muted', 'refund'],
  };
  const REFUND_STATUS = {
    requested: ['申请退款', 'danger'], approved: ['退款已同意', 'danger'], returned: ['已退货', 'danger'],
    refunded: ['已退款', 'muted'], rejected: ['退款被拒', 'muted'],
  };
  // The after-sales steps, in order; rejected stops after the request.
  const REFUND_STEPS = [['requested', '申请'], ['approved', '同意'], ['returned', '退货'], ['refunded', '退款']];

  function lower(s) {
    return String(s || '').toLowerCase();
  }

  function refundOf(o) {
    const r = o.refund || {};
    return r.status && lower(r.status) !== 'none' ? r : null;
  }

  // badges are an order's status badges: payment or shipping from its
  // status, and the after-sales state when there is one.
  function badges(o) {
    const out = [];
    const st = ORDER_STATUS[lower(o.status)];
    const refund = refundOf(o);
    if (!st) out.push([o.status || '未知状态', 'muted', 'status']);
    else if (st[2] !== 'refund' || !refund) out.push(st);
    if (refund) {
      const [text, tone] = REFUND_STATUS[lower(refund.status)] || [refund.status, 'danger'];
      out.push([text, tone, 'refund']);
    }
    return out;
  }

  function statusText(o) {
    return badges(o).map((b) => b[0]).join('·');
  }

  // yuan formats fen as ¥1,299.00 with integer arithmetic only.
  function yuan(fen) {
    const n = Math.trunc(Number(fen) || 0);
    const a = Math.abs(n);
    const whole = String(Math.floor(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${n < 0 ? '-' : ''}¥${whole}.${String(a % 100).padStart(2, '0')}`;
  }

  function itemsSummary(items) {
    if (!items || !items.length) return '';
    const first = items[0];
    let s = `${first.title || '商品'} ×${first.qty || 1}`;
    if (items.length > 1) {
      const total = items.reduce((n, it) => n + (Number(it.qty) || 1), 0);
      s += ` 等${total}件`;
    }
    return s;
  }

  // orderSummary is what "insert" puts into the reply box: enough for the
  // customer to recognize the order.
  function orderSummary(o) {
    const parts = [itemsSummary(o.items), yuan(o.amount_fen), statusText(o)];
    if (o.carrier || o.tracking_no) parts.push([o.carrier, o.tracking_no].filter(Boolean).join(' '));
    return `订单 ${o.order_no}：${parts.filter(Boolean).join('，')}`;
  }

  const pad2 = (n) => String(n).padStart(2, '0');

  function validDate(iso) {
    const d = new Date(iso);
    return iso && !isNaN(d) && d.getFullYear() >= 2000 ? d : null;
  }

  // when formats a time for people who look at it all day: 今天 14:20,
  // 昨天 09:05, 05-03 14:20, 2023-12-30 14:20.
  function when(iso, withToday) {
    const d = validDate(iso);
    if (!d) return '';
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    const now = new Date();
    const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
    const diff = Math.round((day(now) - day(d)) / 86400000);
    if (withToday && diff === 0) return `今天 ${hm}`;
    if (withToday && diff === 1) return `昨天 ${hm}`;
    const md = `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
    return d.getFullYear() === now.getFullYear() ? `${md} ${hm}` : `${d.getFullYear()}-${md} ${hm}`;
  }

  function dateOnly(iso) {
    const d = validDate(iso);
    if (!d) return '';
    const md = `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
    return d.getFullYear() === new Date().getFullYear() ? md : `${d.getFullYear()}-${md}`;
  }

  // age says how old data fetched at iso is, or '' within a minute.
  function age(iso) {
    const d = validDate(iso);
    if (!d) return '';
    const ms = Date.now() - d.getTime();
    if (ms < STALE_AFTER_MS) return '';
    const min = Math.floor(ms / 60000);
    if (min < 60) return `${min} 分钟前更新`;
    const h = Math.floor(min / 60);
    return h < 24 ? `${h} 小时前更新` : `${when(iso, true)} 更新`;
  }

  // secondsUntil is the whole seconds until iso, at least 0.
  function secondsUntil(iso) {
    const d = validDate(iso);
    return d ? Math.max(0, Math.ceil((d.getTime() - Date.now()) / 1000)) : 0;
  }

  // safeURL lets only http(s) links and images through (no javascript:).
  function safeURL(u) {
    if (!u) return '';
    try {
      const x = new URL(u, location.href);
      return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : '';
    } catch {
      return '';
    }
  }

  // el builds an element. props: class, text, data-*, on<event>, other
  // attributes; children: nodes or strings (as text).
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false || c === '') continue;
      e.append(c);
    }
    return e;
  }

  function button(cls, label, onclick, extra) {
    return el('button', { class: cls, type: 'button', onclick, ...extra }, label);
  }

  // avatar shows a user's picture over the first letter of their name,
  // which stays when there is no picture or it fails to load (no
  // broken-image icon). WeChat's JSON gives http:// avatar URLs; the
  // console is https, so they are asked for over https.
  function avatar(cls) {
    const img = el('img', { alt: '', referrerpolicy: 'no-referrer' });
    img.addEventListener('error', () => { img.hidden = true; });
    return el('span', { class: `avatar ${cls}`, 'aria-hidden': 'true' }, el('span', { class: 'avatar-letter' }), img);
  }

  function setAvatar(box, src, name) {
    const [letter, img] = box.children;
    letter.textContent = Array.from(String(name || '').trim())[0] || '';
    let url = safeURL(src);
    if (/^http:\/\/[^/]*qlogo\.cn\//i.test(url)) url = `https${url.slice(4)}`;
    img.hidden = !url;
    if (url) img.src = url;
    else img.removeAttribute('src');
  }

  // ---- Quick replies ----------------------------------------------------

  // The variables a reply may hold (sidebar.ReplyVariables), with what the
  // agent is told when one cannot be filled.
  const VARIABLES = {
    nickname: '客户昵称', name: '客户姓名', order_no: '订单号',
    tracking_no: '物流单号', carrier: '快递公司', amount: '订单金额',
  };
  const VARIABLE_RE = /\{(nickname|name|order_no|tracking_no|carrier|amount)\}/g;

  // fillValues are the variables' values for a customer and order; a
  // missing value is ''.
  function fillValues(nickname, customer, order) {
    return {
      nickname: nickname || '',
      name: (customer && customer.name) || '',
      order_no: (order && order.order_no) || '',
      tracking_no: (order && order.tracking_no) || '',
      carrier: (order && order.carrier) || '',
      amount: order && order.amount_fen != null ? yuan(order.amount_fen) : '',
    };
  }

  // fill replaces the variables of text; missing lists those it could not.
  function fill(text, values) {
    const missing = [];
    const out = String(text).replace(VARIABLE_RE, (m, name) => {
      if (values[name]) return values[name];
      if (!missing.includes(name)) missing.push(name);
      return m;
    });
    return { text: out, missing };
  }

  // matches is the quick reply search: every word of the query in the
  // title or text, or the query among the pinyin initials (lbj finds
  // 老板好…).
  function matches(reply, q) {
    if (!q) return true;
    const hay = lower(`${reply.title || ''}\n${reply.text || ''}`);
    const words = lower(q).split(/\s+/).filter(Boolean);
    if (words.every((w) => hay.includes(w))) return true;
    const letters = lower(q).replace(/\s+/g, '');
    return /^[a-z0-9]+$/.test(letters) && lower(reply.initials).includes(letters);
  }

  // ---- The element ----------------------------------------------------

  const STATE_LABEL = {
    connecting: '连接中…', idle: '待选择', loading: '查询中…', customer: '已识别',
    unknown: '未识别', ambiguous: '请选择', error: '出错',
  };
  // How the sidebar knows who a chat is, in the agent's words.
  const IDENTITY_LABEL = {
    pending: '识别中…', confirmed: '已识别', avatar: '按头像匹配', queued: '按排队消息匹配', picked: '客服选择', bound: '已关联',
  };
  const IDENTITY_HINT = {
    confirmed: '控制台打开的正是这位客户的会话',
    avatar: '只有这一位客户是这个头像和昵称；如果不对，请点“不是这位？”',
    queued: '客户排队时发的消息，只和店铺消息推送里这一位客户的消息对得上；如果不对，请点“不是这位？”',
    picked: '这是你选的客户',
    bound: '这个会话已手动关联到这位客户',
  };

  class KfSidebar extends HTMLElement {
    constructor() {
      super();
      this.shadow = this.attachShadow({ mode: 'open' });
      this.started = false;
      this.ws = null;
      this.failures = 0;
      this.retryTimer = 0;
      this.keyDown = ''; // the key pressed in the sidebar, until released
      this.afterKey = null;
      this.seq = 0; // the last request sent
      this.selSeq = 0; // the last selection request: main answers echo it
      this.side = new Map(); // seq → what a side request (reveal, search) is for
      this.chat = null; // the selection last sent: readChat's fields, since, opened
      this.sentKey = '';
      this.seenSelectedKey = '';
      this.seenIndex = -1;
      this.inputAt = -Infinity; // performance time of the agent's latest click or key in the console
      this.opened = []; // the console's recent history requests: {uin, at, owner}
      this.checkQueued = false;
      this.view = null; // the customer answer shown, with its state
      this.shownOpenID = ''; // the user a customer or not_in_shop answer shows
      this.sources = new Map(); // openid → 来源 the hub sent (source messages)
      this.groups = []; // quick reply groups
      this.tab = 'customer';
      this.activeReply = -1;
      this.searchTimer = 0;
      this.paused = false; // the agent paused kfsidebar: hidden, the page at full width
      this.buildShell();
    }

    connectedCallback() {
      if (this.started) return;
      this.started = true;
      this.width = readWidth();
      this.overlay = readStored(LAYOUT_KEY) === 'overlay';
      this.applyWidth();
      this.setTab('customer');
      this.setCollapsed(readStored(COLLAPSED_KEY) === '1');
      this.setState('connecting');
      this.renderConnecting();
      this.watchPage();
      this.connect();
      setInterval(() => this.tick(), TICK_MS);
    }

    // ---- shell ----

    buildShell() {
      if (this.shadow.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(SIDEBAR_CSS);
        this.shadow.adoptedStyleSheets = [sheet];
      } else {
        this.shadow.append(el('style', { text: SIDEBAR_CSS }));
      }
      this.headAvatar = avatar('head-avatar');
      this.headName = el('div', { class: 'head-name', text: '客户资料' });
      this.headState = el('div', { class: 'head-state' });
      this.banner = el('div', { class: 'banner', hidden: true, text: '连接中断，正在重连…' });
      this.body = el('div', { class: 'body' });
      this.repliesPane = this.buildReplies();
      this.toastEl = el('div', { class: 'toast', role: 'status', 'aria-live': 'polite', hidden: true });
      this.layoutBtn = button('icon layout', '', () => this.setOverlay(!this.overlay));
      this.tabBtns = {
        customer: button('tab-btn', '客户', () => this.setTab('customer'), { 'data-tab': 'customer', role: 'tab' }),
        replies: button('tab-btn', ['快捷回复', el('kbd', { text: 'Alt K' })], () => this.setTab('replies', true),
          { 'data-tab': 'replies', role: 'tab', title: '快捷回复（Alt+K 搜索）' }),
      };
      this.resizer = el('div', {
        class: 'resize', role: 'separator', 'aria-orientation': 'vertical', 'aria-label': '调整侧栏宽度',
        tabindex: '0', title: '拖动调整宽度',
      });
      this.panel = el('section', { class: 'panel', 'aria-label': '客户资料' },
        this.resizer,
        el('header', { class: 'head' },
          this.headAvatar,
          el('div', { class: 'head-text' }, this.headName, this.headState),
          this.layoutBtn,
          button('icon collapse', '›', () => this.setCollapsed(true), { title: '收起', 'aria-label': '收起侧栏' })),
        el('nav', { class: 'tabs', role: 'tablist' }, this.tabBtns.customer, this.tabBtns.replies),
        this.banner,
        this.body,
        this.repliesPane,
        this.toastEl);
      this.tabHandle = el('button', { class: 'tab', type: 'button', title: '展开客户资料', onclick: () => this.setCollapsed(false) },
        el('span', { class: 'tab-mark' }), el('span', { class: 'tab-text', text: '客户' }));
      this.shadow.append(this.panel, this.tabHandle);
      this.setupResize();
    }

    // setPaused hides the sidebar while the agent has paused kfsidebar
    // (the tray's 暂停) and gives the page its width back; resumed, it
    // comes back as it was.
    setPaused(on) {
      clearTimeout(this.pauseTimer);
      if (this.paused === on) return;
      this.paused = on;
      this.toggleAttribute('data-paused', on);
      if (on) narrowPage(false, this.width);
      else this.layoutPage();
    }

    setCollapsed(on) {
      this.collapsed = on;
      this.toggleAttribute('data-collapsed', on);
      this.layoutPage();
      writeStored(COLLAPSED_KEY, on ? '1' : '');
    }

    // setOverlay chooses between narrowing the page (nothing of the
    // console is covered) and floating over it (the console keeps its
    // width); remembered per console origin.
    setOverlay(on) {
      this.overlay = on;
      writeStored(LAYOUT_KEY, on ? 'overlay' : '');
      this.layoutPage();
    }

    layoutPage() {
      this.toggleAttribute('data-overlay', this.overlay);
      this.layoutBtn.textContent = this.overlay ? '⇥' : '⇤';
      this.layoutBtn.title = this.overlay ? '浮在页面上（点此改为挤开页面）' : '挤开页面（点此改为浮在页面上）';
      this.layoutBtn.setAttribute('aria-label', this.layoutBtn.title);
      narrowPage(!this.paused && !this.collapsed && !this.overlay, this.width);
    }

    applyWidth() {
      // Inline styles set through the CSSOM are not governed by the
      // page's CSP.
      this.style.setProperty('--panel-width', `${this.width}px`);
      this.resizer.setAttribute('aria-valuenow', String(this.width));
    }

    setWidth(w, save) {
      this.width = clampWidth(w);
      this.applyWidth();
      this.layoutPage();
      if (save) writeStored(WIDTH_KEY, String(this.width));
    }

    // setupResize lets the agent drag the panel's left edge (or use the
    // arrow keys on it); the width is remembered.
    setupResize() {
      const r = this.resizer;
      r.addEventListener('pointerdown', (ev) => {
        if (ev.button !== 0) return;
        ev.preventDefault();
        r.setPointerCapture(ev.pointerId);
        this.toggleAttribute('data-resizing', true);
      });
      r.addEventListener('pointermove', (ev) => {
        if (r.hasPointerCapture(ev.pointerId)) this.setWidth(window.innerWidth - ev.clientX, false);
      });
      const end = (ev) => {
        if (!r.hasPointerCapture(ev.pointerId)) return;
        r.releasePointerCapture(ev.pointerId);
        this.toggleAttribute('data-resizing', false);
        this.setWidth(this.width, true);
      };
      r.addEventListener('pointerup', end);
      r.addEventListener('pointercancel', end);
      r.addEventListener('keydown', (ev) => {
        const step = ev.shiftKey ? 40 : 10;
        if (ev.key === 'ArrowLeft') this.setWidth(this.width + step, true);
        else if (ev.key === 'ArrowRight') this.setWidth(this.width - step, true);
        else return;
        ev.preventDefault();
      });
    }

    setTab(tab, focusSearch) {
      this.tab = tab;
      this.dataset.tab = tab;
      for (const [name, b] of Object.entries(this.tabBtns)) b.setAttribute('aria-selected', String(name === tab));
      this.body.hidden = tab !== 'customer';
      this.repliesPane.hidden = tab !== 'replies';
      if (tab === 'replies') {
        this.renderReplies();
        if (focusSearch) this.qrSearch.focus();
      }
    }

    setState(state, openid, identity) {
      this.dataset.state = state;
      if (openid) this.dataset.openid = openid;
      else delete this.dataset.openid;
      if (identity) this.dataset.identity = identity;
      else delete this.dataset.identity;
      this.headState.textContent = (identity && IDENTITY_LABEL[identity]) || STATE_LABEL[state] || '';
      this.banner.hidden = state !== 'connecting' || !this.body.firstChild || this.body.dataset.view === 'connecting';
      this.body.classList.toggle('stale', state === 'connecting');
    }

    setHeader(nickname, pic) {
      this.headName.textContent = nickname || '客户资料';
      setAvatar(this.headAvatar, pic, nickname);
      this.headAvatar.hidden = !pic && !nickname;
    }

    show(view, ...nodes) {
      // Read before the change, while layout is clean: writing scrollTop
      // after it would force a layout in the middle of a click.
      const scrolled = this.body.scrollTop !== 0;
      this.body.dataset.view = view;
      this.body.replaceChildren(...nodes.filter(Boolean));
      if (scrolled) this.body.scrollTop = 0;
      if (view !== 'customer') this.view = null;
      if (this.tab === 'replies') this.renderReplies();
    }

    toast(text, tone) {
      this.toastEl.textContent = text;
      this.toastEl.className = `toast ${tone || ''}`;
      this.toastEl.hidden = false;
      clearTimeout(this.toastTimer);
      this.toastTimer = setTimeout(() => { this.toastEl.hidden = true; }, 3500);
    }

    // tick keeps the times that move on screen current: "N 分钟前更新" and
    // the circuit breaker's countdown, which retries at zero.
    tick() {
      for (const e of this.shadow.querySelectorAll('[data-age]')) e.textContent = age(e.dataset.age);
      for (const e of this.shadow.querySelectorAll('[data-retry-at]')) {
        const s = secondsUntil(e.dataset.retryAt);
        e.textContent = s > 0 ? `${e.dataset.prefix}，${s} 秒后重试` : `${e.dataset.prefix}，正在重试…`;
        if (s === 0 && !e.dataset.retried) {
          e.dataset.retried = '1';
          this.retryLookup(true);
        }
      }
    }

    // ---- connection ----

    connect() {
      clearTimeout(this.retryTimer);
      let ws;
      try {
        ws = new WebSocket(WS_URL);
      } catch {
        this.retry();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        this.failures = 0;
        if (this.paused) this.pauseTimer = setTimeout(() => this.setPaused(false), PAUSE_CONFIRM_MS);
        if (this.chat) this.sendSelect(this.chat);
        else {
          this.setState('idle');
          this.renderIdle();
        }
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.failures++;
        this.side.clear();
        this.setState('connecting');
        if (this.body.dataset.view === 'connecting' || !this.body.firstChild) this.renderConnecting();
        this.retry();
      };
    }

    // retry reconnects after an exponential backoff with jitter, so many
    // tabs do not hammer a restarting proxy in step.
    retry() {
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, this.failures - 1));
      const wait = Math.max(BACKOFF_MIN_MS, Math.min(BACKOFF_MAX_MS, base * (0.75 + Math.random() * 0.5)));
      this.retryTimer = setTimeout(() => this.connect(), wait);
    }

    // request sends a selection request (its answers replace the view)
    // or, with side, a request answered beside it. It returns the seq, or
    // 0 when not connected.
    request(msg, side) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return 0;
      this.seq++;
      this.ws.send(JSON.stringify({ ...msg, seq: this.seq }));
      if (side) this.side.set(this.seq, side);
      else this.selSeq = this.seq;
      return this.seq;
    }

    // selection sends a selection request other than select (pick,
    // bind, unbind): loading placeholders until the answer.
    selection(msg) {
      if (this.request(msg)) {
        this.setState('loading');
        this.renderLoading();
        return true;
      }
      this.toast('未连接到 kfsidebar，请稍候', 'warn');
      return false;
    }

    sendSelect(chat) {
      this.setHeader(chat.nickname, chat.avatar);
      const msg = { type: 'select', uin: chat.uin, avatar: chat.avatar, nickname: chat.nickname, peers: chat.peers };
      if (chat.opened) msg.opened = chat.opened;
      if (this.request(msg)) {
        this.setState('loading');
        this.renderLoading();
      } else {
        // Sent once connected; meanwhile the last customer must not stay
        // under another chat's name.
        this.renderConnecting();
        this.setState('connecting');
      }
    }

    receive(data) {
      let msg;
      try {
        msg = JSON.parse(data);
      } catch {
        return;
      }
      if (!msg) return;
      if (msg.type === 'pause') {
        this.setPaused(msg.paused === true);
        return;
      }
      if (msg.type === 'quick_replies') {
        this.groups = msg.groups || [];
        if (this.tab === 'replies') this.renderReplies();
        return;
      }
      // 来源 and tracking steps belong to a user and an order, not to a
      // request: each is applied where it fits, whenever it comes.
      if (msg.type === 'source') {
        this.onSource(msg);
        return;
      }
      if (msg.type === 'tracking') {
        this.onTracking(msg);
        return;
      }
      const side = this.side.get(msg.seq);
      if (side) {
        this.side.delete(msg.seq);
        side(msg);
        return;
      }
      if (msg.seq !== this.selSeq) return; // an answer to a replaced request
      this.shownOpenID = msg.type === 'customer' || (msg.type === 'unknown' && msg.reason === 'not_in_shop') ? msg.openid || '' : '';
      switch (msg.type) {
        case 'loading':
          this.setState('loading', '', msg.identity);
          if (msg.identity === 'pending') this.renderPending();
          else if (this.body.dataset.view !== 'loading') this.renderLoading();
          break;
        case 'customer':
          this.setState('customer', msg.openid, msg.identity);
          if (msg.nickname) this.headName.textContent = msg.nickname;
          this.renderCustomer(msg);
          break;
        case 'unknown':
          this.setState('unknown', '', msg.identity);
          this.renderUnknown(msg);
          break;
        case 'ambiguous':
          this.setState('ambiguous');
          this.renderAmbiguous(msg.candidates || [], msg.reason);
          break;
        case 'error':
          this.setState('error');
          this.renderError(msg);
          break;
      }
    }

    // ---- following the console's selection ----

    watchPage() {
      document.addEventListener('click', (ev) => this.onClick(ev), true);
      document.addEventListener('keydown', (ev) => this.onKey(ev), true);
      const input = (ev) => this.onInput(ev);
      document.addEventListener('pointerdown', input, true);
      document.addEventListener('keydown', input, true);
      // The console's own requests, seen and never touched: its XHR and
      // fetch stay the browser's.
      if (window.PerformanceObserver) {
        try {
          new PerformanceObserver((list) => {
            for (const e of list.getEntries()) {
              const uin = historyUIN(e.name);
              if (uin) this.onHistory(uin, e.startTime);
            }
          }).observe({ type: 'resource', buffered: true });
        } catch {
          // No resource timing: the sidebar goes by the cards alone.
        }
      }
      document.addEventListener('keyup', (ev) => this.onKeyUp(ev), true);
      // documentElement, not body: the console may replace body, and the
      // sidebar's own element hangs off documentElement.
      new MutationObserver(() => this.queueCheck()).observe(document.documentElement, {
        childList: true, subtree: true, attributes: true, attributeFilter: ['class'],
      });
      window.addEventListener('resize', () => this.setWidth(this.width, false));
      this.queueCheck();
    }

    onClick(ev) {
      if (ev.composedPath().includes(this)) return;
      const t = ev.target instanceof Element ? ev.target : ev.target && ev.target.parentElement;
      const card = t && cardFromClick(t);
      if (!card) return;
      // A click on another card opens another chat, even one that looks
      // exactly like the open one; a click on the open chat changes
      // nothing.
      const sel = findSelected();
      this.choose(readChat(card), sel !== card && !(sel && card.contains(sel)));
    }

    // onInput remembers when the agent last clicked or pressed a key in
    // the console (typing a reply aside): the selection changes and the
    // console requests that follow are the agent's doing.
    onInput(ev) {
      if (ev.composedPath().includes(this)) return;
      const t = ev.target instanceof Element ? ev.target : null;
      if (ev.type === 'keydown' && t && t.closest(EDITABLE)) return;
      this.inputAt = ev.timeStamp;
    }

    // onHistory takes a history request of the console (its fansuin and
    // start time). One that started in the current selection's window is
    // evidence of who it is; one caused by a later click or key, for
    // another chat, means the console opened that chat although its card
    // looks like the one before: a new selection.
    onHistory(uin, at) {
      this.opened.push({ uin, at, owner: null });
      if (this.opened.length > 32) this.opened.shift();
      const chat = this.chat;
      if (!chat) return;
      if (at >= chat.since && at <= chat.until) {
        const opened = this.openedFor(chat);
        if (opened !== chat.opened) {
          chat.opened = opened;
          this.sendEvidence();
        }
        return;
      }
      if (uin !== chat.opened && this.inputAt > chat.since && at >= this.inputAt && at <= this.inputAt + INPUT_WINDOW_MS) {
        const sel = findSelected();
        if (sel) this.choose(readChat(sel), true);
      }
    }

    // openedFor is the fansuin of the one history request that started
    // in chat's window (chat.since to chat.until) and that no earlier
    // selection took as its own; "" for none, or for two that disagree.
    // The requests it names become chat's.
    openedFor(chat) {
      const mine = this.opened.filter((o) => o.at >= chat.since && o.at <= chat.until && (!o.owner || o.owner === chat));
      const uins = new Set(mine.map((o) => o.uin));
      if (uins.size !== 1) return '';
      for (const o of mine) o.owner = chat;
      return [...uins][0];
    }

    // selectionStart is when the selection being chosen now began: the
    // agent's click or key when there was one just before and it did not
    // start the previous selection already, else a moment ago (the
    // console chose by itself), else, for the page's first selection, the
    // page's start (the console opens a chat as it loads, before this
    // script runs); never before the previous one.
    selectionStart() {
      const now = performance.now();
      const byInput = now - this.inputAt <= INPUT_WINDOW_MS && (!this.chat || this.inputAt > this.chat.since);
      if (byInput) return this.chat ? Math.max(this.inputAt, this.chat.since) : this.inputAt;
      return this.chat ? Math.max(now - SETTLE_MS, this.chat.since) : 0;
    }

    // sendEvidence tells the hub what the console's history requests now
    // say about the current selection, without starting a new one.
    sendEvidence() {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.selSeq) return;
      this.seq++;
      this.ws.send(JSON.stringify({ type: 'evidence', seq: this.seq, for: this.selSeq, opened: this.chat.opened }));
    }

    // onKey: Alt+K searches the quick replies from anywhere in the page.
    onKey(ev) {
      if (ev.composedPath().includes(this)) this.keyDown = ev.key;
      if (!ev.altKey || ev.ctrlKey || ev.metaKey || (ev.code !== 'KeyK' && lower(ev.key) !== 'k')) return;
      ev.preventDefault();
      ev.stopPropagation();
      if (this.collapsed) this.setCollapsed(false);
      this.setTab('replies', true);
      this.qrSearch.select();
    }

    onKeyUp(ev) {
      if (ev.key !== this.keyDown) return;
      this.keyDown = '';
      const fn = this.afterKey;
      this.afterKey = null;
      if (fn) fn();
    }

    // whenKeyUp runs fn now or, while a key pressed in the sidebar is down
    // (Enter on a reply), once it is released: moving the focus to the
    // reply box during the keydown would let that key's keypress type a
    // line break there.
    whenKeyUp(fn) {
      if (!this.keyDown) {
        fn();
        return;
      }
      this.afterKey = fn;
      clearTimeout(this.afterKeyTimer);
      this.afterKeyTimer = setTimeout(() => this.onKeyUp({ key: this.keyDown }), 1000);
    }

    // queueCheck checks the selection once the page's current task is done,
    // however many mutations React makes in it, and puts the element back
    // if the page removed it. Not once per animation frame: a frame can be
    // late on a busy machine, and meanwhile the last customer would stay
    // beside another chat.
    queueCheck() {
      if (this.checkQueued) return;
      this.checkQueued = true;
      queueMicrotask(() => {
        this.checkQueued = false;
        if (!this.isConnected) {
          document.documentElement.append(this);
          this.layoutPage();
        }
        const sel = findSelected();
        if (!sel) return;
        const chat = readChat(sel);
        const key = identity(chat);
        // Only a change of the console's selection counts: a click on
        // another avatar must not be undone by the next re-render. A
        // selected card that looks the same but sits elsewhere in the list
        // is another chat when the agent just clicked or pressed a key
        // (keyboard navigation among look-alikes), or when another card in
        // the list looks the same (the console opened a transferred or
        // accepted look-alike by itself): which one it is must be
        // established again. A card like no other that moved without any
        // input is the same chat in a re-sorted list.
        const recent = performance.now() - this.inputAt <= INPUT_WINDOW_MS;
        const moved = key === this.seenSelectedKey && chat.index !== this.seenIndex && (recent || chat.peers > 1);
        if (key === this.seenSelectedKey && !moved) {
          this.seenIndex = chat.index;
          return;
        }
        this.seenSelectedKey = key;
        this.seenIndex = chat.index;
        if (this.chat && identity(this.chat) === key && this.chat.index === chat.index) return; // chosen by the click
        this.choose(chat, moved);
      });
    }

    // choose follows the agent to another chat: its customer comes first,
    // whichever tab was open. A chat that looks like the last one sent is
    // chosen again only when force says it is another.
    choose(chat, force) {
      if (isEmpty(chat) || (identity(chat) === this.sentKey && !force)) return;
      this.sentKey = identity(chat);
      chat.since = this.selectionStart();
      chat.until = Math.max(chat.since, performance.now()) + INPUT_WINDOW_MS;
      chat.opened = this.openedFor(chat);
      this.chat = chat;
      if (this.tab !== 'customer') this.setTab('customer');
      this.sendSelect(chat);
    }

    // ---- views ----

    renderConnecting() {
      const hint = this.failures >= HINT_AFTER_FAILURES
        ? el('p', { class: 'hint', text: '连不上 kfsidebar。请确认它正在运行；如果刚重启过，请刷新本页面。' })
        : null;
      this.show('connecting', el('div', { class: 'empty' },
        el('div', { class: 'spinner' }),
        el('h2', { text: '正在连接 kfsidebar…' }),
        hint));
    }

    renderIdle() {
      this.setHeader('', '');
      this.show('idle', el('div', { class: 'empty' },
        el('div', { class: 'glyph', text: '☰' }),
        el('h2', { text: '选择一个会话' }),
        el('p', { class: 'hint', text: '点开左侧的会话，这里会显示客户资料和订单。' })));
    }

    renderLoading() {
      // Widths come from classes: a style attribute would need the page's
      // CSP to allow inline styles.
      const line = (w) => el('div', { class: `sk w${w}` });
      this.show('loading', el('div', { class: 'skeleton', 'aria-busy': 'true' },
        el('div', { class: 'box' }, line(40), line(70), line(55)),
        el('div', { class: 'box' }, line(85), line(50), line(70)),
        el('div', { class: 'box' }, line(70), line(55))));
    }

    // renderPending: the evidence cannot tell yet which user this is, and
    // the hub waits a moment for more before asking.
    renderPending() {
      this.show('pending', el('div', { class: 'empty' },
        el('div', { class: 'spinner' }),
        el('h2', { text: '正在确认是哪一位客户…' }),
        el('p', { class: 'hint', text: '有几位客户看起来一样，正在等控制台的会话信息来确认，不会张冠李戴。' })));
    }

    renderUnknown(msg) {
      let head;
      if (msg.reason === 'not_in_shop' && msg.bound) {
        head = [el('div', { class: 'glyph', text: '∅' }),
          el('h2', { text: '关联的客户在店铺里找不到了' }),
          el('p', { class: 'hint', text: '可能已被删除或合并。撤销关联，或重新查找：' }),
          button('btn ghost unbind', '撤销关联', () => this.unbind())];
      } else if (msg.reason === 'not_in_shop') {
        head = [el('div', { class: 'glyph', text: '∅' }),
          el('h2', { text: '店铺里没有这位客户' }),
          el('p', { class: 'hint', text: '这位微信用户没有用这个身份在店铺下过单。问问客户的手机号或订单号，查到后关联：' })];
      } else {
        head = [el('div', { class: 'glyph', text: '?' }),
          el('h2', { text: '还没认出这位客户' }),
          el('p', { class: 'hint', text: '新接入的会话会自动识别，无需刷新。也可以按客户给的手机号或订单号查找并关联：' })];
      }
      this.show(msg.reason || 'no_session',
        msg.reason === 'not_in_shop' && msg.identity && !msg.bound ? el('div', { class: 'notices' }, this.identityNotice(msg.identity)) : null,
        msg.reason === 'not_in_shop' ? this.sourceBox(msg.openid) : null,
        el('div', { class: 'empty compact' }, head),
        this.finder(),
        msg.openid ? el('p', { class: 'mono faint', text: `openid ${msg.openid}` }) : null);
    }

    // finder is the search box of the identity fallback: phone, order no
    // or name → customers → bind in one click.
    finder() {
      const input = el('input', {
        class: 'find-input', type: 'search', placeholder: '手机号（后四位即可）/ 订单号 / 姓名',
        'aria-label': '查找客户', autocomplete: 'off', spellcheck: 'false',
      });
      const status = el('p', { class: 'find-status hint', 'aria-live': 'polite' });
      const list = el('ul', { class: 'find-results' });
      const run = () => {
        clearTimeout(this.searchTimer);
        const q = input.value.trim();
        if (!q) {
          list.replaceChildren();
          status.textContent = '';
          return;
        }
        status.textContent = '查找中…';
        this.request({ type: 'search', query: q }, (msg) => {
          if (!input.isConnected || input.value.trim() !== q) return;
          if (msg.type === 'error') {
            status.textContent = msg.message || '查找失败';
            return;
          }
          const found = msg.customers || [];
          status.textContent = found.length ? '' : `没有找到“${q}”`;
          list.replaceChildren(...found.map((c) => el('li', { class: 'find-hit' },
            el('span', { class: 'find-text' },
              el('span', { class: 'find-name' }, c.name || '（未填写姓名）', c.level ? el('span', { class: 'level small', text: c.level }) : null),
              el('span', { class: 'find-meta mono', text: c.phone || '' })),
            button('btn small bind', '关联', () => this.bind(c.id), { 'data-customer-id': c.id, title: '把这个会话关联到这位客户' }))));
        });
      };
      input.addEventListener('input', () => {
        clearTimeout(this.searchTimer);
        this.searchTimer = setTimeout(run, SEARCH_DEBOUNCE_MS);
      });
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          run();
        } else if (ev.key === 'ArrowDown') {
          const first = list.querySelector('button');
          if (first) {
            ev.preventDefault();
            first.focus();
          }
        }
      });
      return el('div', { class: 'finder box' }, el('label', { class: 'find-label', text: '查找并关联客户' }), input, status, list);
    }

    bind(id) {
      this.selection({ type: 'bind', customer_id: id });
    }

    unbind() {
      this.selection({ type: 'unbind' });
    }

    renderAmbiguous(candidates, reason) {
      const list = el('ul', { class: 'choices' });
      for (const c of candidates) {
        const seen = when(c.seen_at, true);
        const pic = avatar('choice-avatar');
        setAvatar(pic, c.avatar, c.nickname);
        list.append(el('li', null, el('button', {
          class: 'choice', type: 'button', 'data-openid': c.openid,
          onclick: () => this.pick(c.openid),
        },
        pic,
        el('span', { class: 'choice-text' },
          el('span', { class: 'choice-name', text: c.nickname || '（无昵称）' }),
          el('span', { class: 'choice-meta', text: seen ? `接入于 ${seen}` : '' })),
        el('span', { class: 'choice-go', text: '›' }))));
      }
      const others = reason === 'others';
      this.show('ambiguous', el('div', { class: 'chooser' },
        el('h2', { text: others ? '换一位客户' : '认不准是哪一位客户' }),
        el('p', { class: 'hint', text: others ? '这些客户看起来和当前会话相符，请选择正在聊天的这一位：' : '这几位客户头像和昵称相同，kfsidebar 无法确定。请选择正在聊天的这一位：' }),
        list),
      this.finder());
    }

    renderError(msg) {
      const text = msg.message || '查询客户资料失败';
      const retryAt = msg.health && msg.health.state === 'open' && msg.health.retry_at;
      let head;
      if (retryAt) {
        // The backend failed again and again: kfsidebar leaves it alone
        // until retry_at, and asks again by itself then (see tick).
        head = [el('h2', { class: 'error-text', 'data-retry-at': retryAt, 'data-prefix': text, text }),
          el('p', { class: 'hint', text: '连续几次查询都失败了，kfsidebar 暂停查询，到时自动重试；也可以现在重试。' })];
      } else {
        head = [el('h2', { text: '出错了' }), el('p', { class: 'hint error-text', text })];
      }
      this.show('error', el('div', { class: 'empty' },
        el('div', { class: 'glyph error', text: '!' }),
        head,
        el('div', { class: 'actions center' },
          button('btn retry', '重试', () => this.retryLookup()),
          msg.bound ? button('btn ghost unbind', '撤销关联', () => this.unbind()) : null)));
      this.tick();
    }

    pick(openid) {
      this.selection({ type: 'pick', openid });
    }

    retryLookup(quiet) {
      if (this.request({ type: 'refresh' })) {
        if (!quiet || this.body.dataset.view !== 'customer') {
          this.setState('loading');
          this.renderLoading();
        }
      }
    }

    // ---- the customer ----

    renderCustomer(msg) {
      const c = msg.customer || {};
      const orders = c.orders || [];
      this.view = {
        msg, customer: c, orders,
        masked: new Set(msg.masked || []),
        revealed: new Map(),
        current: '', // the order the variables come from: the last expanded
      };
      this.show('customer',
        this.notices(msg),
        this.sourceBox(msg.openid),
        this.profile(msg, c),
        this.orderList(c, orders));
      this.openSourceOrder(msg.openid);
      this.tick();
    }

    // ---- 来源 and live tracking, from the shop's push gateway ----

    onSource(msg) {
      if (!msg.openid || !msg.source) return;
      this.sources.set(msg.openid, msg.source);
      if (msg.openid !== this.shownOpenID) return;
      const box = this.sourceBox(msg.openid);
      const old = this.shadow.querySelector('.source');
      if (old) old.replaceWith(box);
      else {
        const before = this.body.querySelector(':scope > .profile, :scope > .empty');
        if (before) before.before(box);
      }
      this.openSourceOrder(msg.openid);
    }

    // sourceBox says where the user came from: the shop's reading of the
    // contact button's session-from (an order, a product), and the raw
    // value.
    sourceBox(openid) {
      const s = openid && this.sources.get(openid);
      if (!s) return null;
      const orders = (this.view && this.view.orders) || [];
      const rows = el('dl', { class: 'fields' });
      const row = (label, ...value) => rows.append(el('div', { class: 'field' }, el('dt', { text: label }), el('dd', null, ...value)));
      for (const f of s.fields || []) {
        if (f.name === 'order_no') {
          const listed = orders.some((o) => o.order_no === f.value);
          row('订单', el('span', { class: 'value mono', text: f.value }),
            listed ? button('mini', '查看', () => this.openOrder(f.value, true), { 'data-open-order': f.value, title: '在下面的订单列表里打开' })
              : el('span', { class: 'hint', text: '不在最近订单里' }));
        } else if (f.name === 'sku') {
          const item = orders.flatMap((o) => o.items || []).find((it) => it.sku === f.value);
          row('商品', item ? el('span', { class: 'value', text: item.title }) : null, el('span', { class: 'value mono', text: f.value }));
        } else {
          row(f.name, el('span', { class: 'value', text: f.value }));
        }
      }
      row('原始值', el('span', { class: 'value mono', text: s.raw }));
      return el('div', { class: 'box source', 'data-source-raw': s.raw },
        el('div', { class: 'source-head' },
          el('span', { class: 'source-title', text: '来源' }),
          s.label ? el('span', { class: 'source-label', text: s.label }) : null,
          s.at ? el('span', { class: 'source-at', text: `${when(s.at, true)} 进入` }) : null),
        rows);
    }

    // openSourceOrder marks and opens the order the user's 来源 names.
    openSourceOrder(openid) {
      const s = openid && this.sources.get(openid);
      const f = s && (s.fields || []).find((x) => x.name === 'order_no');
      if (f) this.openOrder(f.value, false);
    }

    orderElement(no) {
      return this.shadow.querySelector(`.order[data-order-no="${CSS.escape(no)}"]`);
    }

    openOrder(no, scroll) {
      const li = this.orderElement(no);
      if (!li) return;
      li.dataset.source = '1';
      if (!li.classList.contains('open')) li.querySelector('.order-head').click();
      if (scroll) li.scrollIntoView({ block: 'nearest' });
    }

    // onTracking shows a logistics push on the order it is about, at once
    // and without asking the shop: in the order's row, and in its detail.
    onTracking(msg) {
      const v = this.view;
      const t = msg.tracking;
      if (!v || !t || v.msg.openid !== msg.openid) return;
      const o = v.orders.find((x) => x.order_no === t.order_no);
      if (!o) return;
      o.tracking_event = t.event;
      o.tracking_at = t.at;
      if (!o.tracking_no) o.tracking_no = t.tracking_no;
      const li = this.orderElement(t.order_no);
      if (!li) return;
      li.dataset.live = '1';
      let line = li.querySelector('.order-track');
      if (!line) {
        line = el('span', { class: 'order-track' });
        li.querySelector('.order-head').append(line);
      }
      line.replaceChildren(el('span', { class: 'live-dot', 'aria-hidden': 'true' }), `物流更新：${t.event}`,
        el('span', { class: 'track-at', text: when(t.at, true) }));
      const old = li.querySelector(':scope > .order-detail');
      if (old) {
        const d = this.orderDetail(o, old.id);
        d.hidden = old.hidden;
        old.replaceWith(d);
      }
    }

    // notices say how far to trust what is shown: stale, the backend in
    // trouble, bound by hand.
    notices(msg) {
      const out = el('div', { class: 'notices' });
      const open = msg.health && msg.health.state === 'open' && msg.health.retry_at;
      if (msg.stale || open) {
        const n = el('div', { class: 'notice warn stale-notice' });
        const text = el('span');
        if (open) {
          text.dataset.retryAt = msg.health.retry_at;
          text.dataset.prefix = '店铺系统暂时不可用';
        } else {
          text.textContent = msg.error || '刷新失败，显示的是上次查到的资料';
        }
        n.append(text);
        if (msg.fetched_at && msg.customer) n.append(el('span', { class: 'notice-age', 'data-age': msg.fetched_at }));
        n.append(button('link-btn', '重试', () => this.retryLookup()));
        out.append(n);
      }
      if (msg.bound) {
        out.append(el('div', { class: 'notice bound-notice' },
          el('span', { text: '已手动关联到这位客户' }),
          button('link-btn unbind', '撤销', () => this.unbind(), { title: '撤销关联，重新识别' })));
      } else if (msg.identity) {
        out.append(this.identityNotice(msg.identity));
      }
      return out.firstChild ? out : null;
    }

    // identityNotice says how the sidebar knows who this is, with the way
    // out when it is wrong.
    identityNotice(identity) {
      return el('div', { class: `notice identity-notice identity-${identity}`, 'data-identity': identity },
        el('span', { class: 'identity-label', text: IDENTITY_LABEL[identity] || identity, title: IDENTITY_HINT[identity] || '' }),
        button('link-btn others', '不是这位？', () => this.others(), { title: '看看别的候选客户，或按手机号、订单号查找' }));
    }

    others() {
      this.selection({ type: 'others' });
    }

    // masked shows a value that may be hidden: a reveal button while it
    // is, a copy button when asked. Every element showing the same field
    // is updated when it is revealed.
    maskedValue(field, shown, opts) {
      const o = opts || {};
      const v = this.view;
      // A part drawn again (a tracking push redraws an order) keeps what
      // was revealed.
      const text = field && v.revealed.has(field) ? v.revealed.get(field) : shown;
      const value = el('span', { class: `value ${o.cls || ''}`, 'data-field': field, text });
      const out = [value];
      if (field && v.masked.has(field) && !v.revealed.has(field)) {
        out.push(button('mini reveal', '显示', (ev) => this.reveal(field, ev.currentTarget), {
          'data-reveal': field, title: '显示完整内容（会被记录）',
        }));
      }
      if (o.copy) {
        out.push(button('mini copy', '复制', () => this.copyField(field, o.copy), { 'data-copy': o.name || field, title: '复制' }));
      }
      return out;
    }

    // reveal asks the hub for a masked field's value; the hub records it.
    reveal(field, then) {
      const v = this.view;
      if (!v) return;
      if (v.revealed.has(field)) {
        if (typeof then === 'function') then(v.revealed.get(field));
        return;
      }
      const sent = this.request({ type: 'reveal', field }, (msg) => {
        if (this.view !== v) return;
        if (msg.type !== 'revealed') {
          this.toast(msg.message || '无法显示', 'warn');
          return;
        }
        v.revealed.set(field, msg.value);
        for (const e of this.shadow.querySelectorAll('[data-field]')) {
          if (e.dataset.field === field) e.textContent = msg.value;
        }
        for (const b of this.shadow.querySelectorAll('[data-reveal]')) {
          if (b.dataset.reveal === field) b.remove();
        }
        if (typeof then === 'function') then(msg.value);
      });
      if (!sent) this.toast('未连接到 kfsidebar，请稍候', 'warn');
    }

    // copyField copies a field's value, revealing it first when masked
    // (copying a hidden address is looking at it).
    copyField(field, value) {
      const v = this.view;
      const go = async (text) => {
        const ok = await copyText(text, this.shadow);
        this.toast(ok ? `已复制：${text}` : '复制失败，请手动选择复制', ok ? 'ok' : 'warn');
      };
      if (field && v && v.masked.has(field)) this.reveal(field, go);
      else go(value);
    }

    profile(msg, c) {
      const tags = (c.tags || []).filter(Boolean);
      const fields = el('dl', { class: 'fields' });
      const field = (label, ...value) => {
        fields.append(el('div', { class: 'field' }, el('dt', { text: label }), el('dd', null, ...value)));
      };
      if (c.phone) field('手机', this.maskedValue('phone', c.phone, { cls: 'mono', copy: c.phone, name: 'phone' }));
      if (c.note) field('备注', el('span', { class: 'note', text: c.note }));
      for (const x of c.extra || []) field(x.label, this.extra(x, 'extra:' + x.label));

      const stats = el('div', { class: 'stats' });
      const stat = (label, value) => stats.append(el('div', { class: 'stat' }, el('b', { text: value }), el('span', { text: label })));
      const orders = c.orders || [];
      const count = c.order_count || orders.length;
      const spent = c.total_spent_fen || (c.order_count ? 0 : orders.reduce((n, o) => n + (Number(o.amount_fen) || 0), 0));
      const last = c.last_order_at || (orders[0] && orders[0].created_at);
      stat('订单', String(count));
      stat('累计消费', yuan(spent));
      stat('最近下单', dateOnly(last) || '—');

      const admin = safeURL(c.admin_url);
      const updated = msg.fetched_at && !msg.stale ? el('span', { class: 'updated', 'data-age': msg.fetched_at }) : null;
      return el('div', { class: 'box profile' },
        el('div', { class: 'name-row' },
          el('span', { class: 'name', text: c.name || '（未填写姓名）' }),
          c.level ? el('span', { class: 'level', text: c.level }) : null,
          updated),
        tags.length ? el('div', { class: 'tags' }, tags.map((t) => el('span', { class: 'tag', text: t }))) : null,
        fields.firstChild ? fields : null,
        stats,
        admin ? el('a', { class: 'link', href: admin, target: '_blank', rel: 'noopener noreferrer' }, '在店铺后台查看 ↗') : null);
    }

    // extra renders one of the shop's own fields: a link, copyable,
    // masked, as the shop said.
    extra(x, field) {
      const href = safeURL(x.href);
      if (this.view.masked.has(field)) return this.maskedValue(field, x.value, { copy: x.copy ? x.value : '' });
      const value = href
        ? el('a', { class: 'link inline', href, target: '_blank', rel: 'noopener noreferrer', text: x.value })
        : el('span', { class: 'value', text: x.value });
      return [value, x.copy ? button('mini copy', '复制', () => this.copyField('', x.value), { 'data-copy': field }) : null];
    }

    orderList(c, orders) {
      const total = c.order_count || orders.length;
      const section = el('div', { class: 'orders' },
        el('h3', null, '最近订单', el('span', { class: 'count', text: total > orders.length ? `${orders.length} / ${total}` : String(orders.length) })));
      if (!orders.length) section.append(el('p', { class: 'hint none', text: '暂无订单' }));
      else section.append(el('ol', { class: 'order-list' }, orders.map((o) => this.orderRow(o))));
      return section;
    }

    orderRow(o) {
      const detailId = `order-${o.order_no}`.replace(/[^\w-]/g, '_');
      const head = el('button', { class: 'order-head', type: 'button', 'aria-expanded': 'false', 'aria-controls': detailId },
        el('span', { class: 'order-top' },
          el('span', { class: 'order-no', text: o.order_no }),
          el('span', { class: 'badges' }, badges(o).map(([text, tone, kind]) =>
            el('span', { class: `status ${tone}`, 'data-badge': kind, text })))),
        el('span', { class: 'order-items', text: itemsSummary(o.items) }),
        el('span', { class: 'order-meta' },
          el('span', { class: 'amount', text: yuan(o.amount_fen) }),
          el('span', { class: 'date', text: when(o.created_at, false) }),
          el('span', { class: 'chevron', 'aria-hidden': 'true', text: '›' })));
      const li = el('li', { class: 'order', 'data-order-no': o.order_no }, head);
      head.addEventListener('click', () => {
        // Looked up each time: a tracking push draws the detail anew.
        let detail = li.querySelector(':scope > .order-detail');
        if (!detail) {
          detail = this.orderDetail(o, detailId);
          li.append(detail);
        }
        const open = head.getAttribute('aria-expanded') !== 'true';
        head.setAttribute('aria-expanded', String(open));
        li.classList.toggle('open', open);
        detail.hidden = !open;
        this.setCurrentOrder(open ? o.order_no : this.lastOpenOrder(o.order_no));
      });
      return li;
    }

    lastOpenOrder(except) {
      const open = [...this.shadow.querySelectorAll('.order.open')].filter((e) => e.dataset.orderNo !== except);
      return open.length ? open[open.length - 1].dataset.orderNo : '';
    }

    setCurrentOrder(no) {
      if (!this.view) return;
      this.view.current = no;
      for (const e of this.shadow.querySelectorAll('.order')) e.classList.toggle('current', e.dataset.orderNo === no);
    }

    // currentOrder is the order the variables and "insert" use: the one
    // the agent opened last, else the latest.
    currentOrder() {
      const v = this.view;
      if (!v || !v.orders.length) return null;
      return v.orders.find((o) => o.order_no === v.current) || v.orders[0];
    }

    orderDetail(o, id) {
      const d = el('div', { class: 'order-detail', id });
      const row = (label, ...value) => el('div', { class: 'drow' }, el('span', { class: 'dlabel', text: label }), el('span', { class: 'dvalue' }, ...value));

      if (o.items && o.items.length) {
        d.append(el('ul', { class: 'items' }, o.items.map((it) => el('li', null,
          el('span', { class: 'item-title', text: it.title }),
          it.sku ? el('span', { class: 'item-sku mono', text: it.sku }) : null,
          el('span', { class: 'item-qty', text: `×${it.qty}` }),
          el('span', { class: 'item-price', text: yuan(it.price_fen) })))));
      }
      if (o.address) {
        d.append(row('收货地址', this.maskedValue(`address:${o.order_no}`, o.address, { copy: o.address, name: 'address' })));
      }
      if (o.carrier || o.tracking_no) {
        d.append(row('物流', el('span', { class: 'value', text: o.carrier || '' }),
          o.tracking_no ? el('span', { class: 'value mono', text: o.tracking_no }) : null,
          o.tracking_no ? button('mini copy', '复制', () => this.copyField('', o.tracking_no), { 'data-copy': 'tracking_no', title: '复制物流单号' }) : null));
      }
      if (o.tracking_event) {
        d.append(row('最新', el('span', { class: 'value track' }, o.tracking_event,
          o.tracking_at ? el('span', { class: 'track-at', text: when(o.tracking_at, true) }) : null)));
      }
      const refund = refundOf(o);
      if (refund) d.append(this.refundSteps(refund));
      for (const x of o.extra || []) d.append(row(x.label, this.extra(x, `extra:${o.order_no}:${x.label}`)));
      const admin = safeURL(o.admin_url);
      d.append(el('div', { class: 'actions' },
        button('btn small ghost', '复制单号', () => this.copyField('', o.order_no), { 'data-copy': 'order_no' }),
        button('btn small insert', '插入到回复', () => this.insert(orderSummary(o)), { title: '把订单摘要放进回复框（不会发送）' }),
        admin ? el('a', { class: 'link', href: admin, target: '_blank', rel: 'noopener noreferrer' }, '后台 ↗') : null));
      return d;
    }

    // refundSteps draws the after-sales progress: 申请 → 同意 → 退货 → 退款,
    // with the amount and the reason.
    refundSteps(r) {
      const st = lower(r.status);
      const rejected = st === 'rejected';
      const at = rejected ? 0 : REFUND_STEPS.findIndex(([k]) => k === st);
      const steps = el('ol', { class: `steps${rejected ? ' rejected' : ''}`, 'data-refund': st },
        REFUND_STEPS.map(([k, label], i) => el('li', {
          class: i < at ? 'done' : i === at ? 'now' : '', 'data-step': k,
        }, el('i'), el('span', { text: rejected && i === 0 ? '被拒' : label }))));
      const [text] = REFUND_STATUS[st] || [r.status];
      return el('div', { class: 'refund' },
        el('div', { class: 'refund-head' },
          el('span', { class: 'refund-state', text: `售后：${text}` }),
          r.amount_fen ? el('span', { class: 'refund-amount', text: yuan(r.amount_fen) }) : null),
        steps,
        r.reason ? el('div', { class: 'refund-reason', text: `原因：${r.reason}` }) : null);
    }

    // insert puts text into the console's reply box, never sending it.
    insert(text) {
      this.whenKeyUp(() => {
        if (insertIntoEditor(text)) this.toast('已放入回复框，确认后按 Enter 发送', 'ok');
        else this.toast('找不到回复框：请先在左侧打开一个会话', 'warn');
      });
    }

    // ---- quick replies ----

    buildReplies() {
      this.qrSearch = el('input', {
        class: 'qr-search', type: 'search', placeholder: '搜索快捷回复（支持拼音首字母）',
        'aria-label': '搜索快捷回复', autocomplete: 'off', spellcheck: 'false',
      });
      this.qrContext = el('div', { class: 'qr-context' });
      this.qrList = el('div', { class: 'qr-list', role: 'listbox', 'aria-label': '快捷回复' });
      this.qrNotice = el('div', { class: 'qr-notice', role: 'alert', hidden: true });
      this.qrSearch.addEventListener('input', () => {
        this.activeReply = this.qrSearch.value.trim() ? 0 : -1;
        this.renderReplies();
      });
      this.qrSearch.addEventListener('keydown', (ev) => this.onReplyKey(ev));
      this.qrList.addEventListener('keydown', (ev) => this.onReplyKey(ev));
      return el('div', { class: 'replies' },
        el('div', { class: 'qr-top' },
          this.qrSearch,
          el('p', { class: 'qr-help hint', text: 'Alt+K 搜索 · ↑↓ 选择 · Enter 放入回复框 · Esc 返回输入框' }),
          this.qrContext),
        this.qrNotice,
        this.qrList);
    }

    onReplyKey(ev) {
      const items = [...this.qrList.querySelectorAll('[data-quick-reply]')];
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        if (!items.length) return;
        ev.preventDefault();
        const d = ev.key === 'ArrowDown' ? 1 : -1;
        this.setActiveReply(Math.max(0, Math.min(items.length - 1, this.activeReply + d)), ev.target !== this.qrSearch);
      } else if (ev.key === 'Enter' && ev.target === this.qrSearch) {
        ev.preventDefault();
        const item = items[Math.max(0, this.activeReply)];
        if (item) item.click();
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        if (this.qrSearch.value) {
          this.qrSearch.value = '';
          this.activeReply = -1;
          this.renderReplies();
        } else {
          const ed = document.querySelector(EDITOR);
          if (ed) ed.focus();
        }
      }
    }

    setActiveReply(i, focus) {
      const items = [...this.qrList.querySelectorAll('[data-quick-reply]')];
      this.activeReply = i;
      items.forEach((b, j) => b.setAttribute('aria-selected', String(j === i)));
      const item = items[i];
      if (!item) return;
      item.scrollIntoView({ block: 'nearest' });
      if (focus) item.focus();
      this.qrSearch.setAttribute('aria-activedescendant', item.id);
    }

    // values are the quick reply variables for the chat on screen.
    values() {
      const v = this.view;
      const nickname = (v && v.msg.nickname) || (this.chat && this.chat.nickname) || '';
      return fillValues(nickname, v && v.customer, this.currentOrder());
    }

    renderReplies() {
      const v = this.view;
      const order = this.currentOrder();
      const values = this.values();
      this.qrContext.replaceChildren(v
        ? el('span', null, '变量取自 ', el('b', { text: v.customer.name || values.nickname || '当前客户' }),
          order ? ['，订单 ', el('b', { class: 'mono', text: order.order_no })] : '（没有订单）')
        : el('span', { text: this.chat ? '当前会话还没有识别出客户：只有 {nickname} 可用' : '还没有选择会话' }));
      const q = this.qrSearch.value.trim();
      const nodes = [];
      let n = 0;
      for (const g of this.groups) {
        const replies = (g.replies || []).filter((r) => matches(r, q));
        if (!replies.length) continue;
        nodes.push(el('div', { class: 'qr-group', role: 'presentation' },
          el('span', { text: g.name }),
          g.source === 'console' ? el('span', { class: 'qr-source', text: '控制台' }) : null));
        for (const r of replies) nodes.push(this.replyItem(r, values, n++));
      }
      if (!nodes.length) {
        nodes.push(el('p', { class: 'hint qr-empty', text: this.groups.length ? `没有匹配“${q}”的快捷回复` : '还没有快捷回复。在 kfsidebar 的状态页里可以添加和导入。' }));
      }
      this.qrList.replaceChildren(...nodes);
      if (this.activeReply >= n) this.activeReply = n - 1;
      if (this.activeReply >= 0) this.setActiveReply(this.activeReply, false);
    }

    replyItem(r, values, i) {
      const parts = [];
      let last = 0;
      const text = String(r.text || '');
      for (const m of text.matchAll(VARIABLE_RE)) {
        parts.push(text.slice(last, m.index));
        const value = values[m[1]];
        parts.push(el('span', {
          class: `var ${value ? 'ok' : 'missing'}`, 'data-var': m[1],
          title: value ? `{${m[1]}} ${VARIABLES[m[1]]}` : `缺少${VARIABLES[m[1]]}`,
          text: value || `{${m[1]}}`,
        }));
        last = m.index + m[0].length;
      }
      parts.push(text.slice(last));
      return el('button', {
        class: 'qr-item', type: 'button', role: 'option', id: `qr-${i}`, 'data-quick-reply': r.id, tabindex: '-1',
        onclick: () => this.useReply(r),
      },
      r.title ? el('span', { class: 'qr-title', text: r.title }) : null,
      el('span', { class: 'qr-text' }, parts));
    }

    // useReply fills a reply's variables and puts it into the reply box,
    // or says which variable is missing and inserts nothing.
    useReply(r) {
      const { text, missing } = fill(r.text, this.values());
      if (missing.length) {
        const names = missing.map((m) => `${VARIABLES[m]} {${m}}`).join('、');
        let why = '';
        if (!this.view && missing.some((m) => m !== 'nickname')) why = '当前会话还没有识别出客户。';
        else if (this.view && !this.currentOrder() && missing.some((m) => m !== 'nickname' && m !== 'name')) why = '这位客户没有订单。';
        this.showReplyNotice(`没有插入：缺少${names}。${why}`);
        return;
      }
      this.qrNotice.hidden = true;
      this.insert(text);
    }

    showReplyNotice(text) {
      this.qrNotice.textContent = text;
      this.qrNotice.hidden = false;
    }
  }

  // The open panel narrows the page instead of covering it, so no console
  // control (the auto-accept switch, the agent's status, a scrollbar) ends up
  // under it. The transform makes <body> the containing block of the
  // console's own fixed-position elements, so they follow the narrowed body
  // rather than the viewport. Inline styles set through the CSSOM are not
  // subject to the page's CSP. Turning it off restores what was there.
  let savedBodyStyle = null;
  function narrowPage(on, width) {
    const b = document.body;
    if (!b) return;
    const props = ['margin-right', 'transform'];
    if (on) {
      if (!savedBodyStyle) savedBodyStyle = props.map((p) => [p, b.style.getPropertyValue(p), b.style.getPropertyPriority(p)]);
      b.style.setProperty('margin-right', `${width}px`, 'important');
      b.style.setProperty('transform', 'translateZ(0)', 'important');
    } else if (savedBodyStyle) {
      for (const [p, v, prio] of savedBodyStyle) {
        if (v) b.style.setProperty(p, v, prio);
        else b.style.removeProperty(p);
      }
      savedBodyStyle = null;
    }
  }

  function clampWidth(w) {
    const max = Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, window.innerWidth - MIN_PAGE_WIDTH));
    return Math.round(Math.max(MIN_WIDTH, Math.min(max, Number(w) || DEFAULT_WIDTH)));
  }

  function readWidth() {
    return clampWidth(Number(readStored(WIDTH_KEY)) || DEFAULT_WIDTH);
  }

  function readStored(key) {
    try {
      return localStorage.getItem(key) || '';
    } catch {
      return '';
    }
  }

  // writeStored remembers a setting; '' forgets it. Storage may be off:
  // the panel still works, it just forgets.
  function writeStored(key, value) {
    try {
      if (value) localStorage.setItem(key, value);
      else localStorage.removeItem(key);
    } catch {
      // see above
    }
  }

  customElements.define(TAG, KfSidebar);
  const host = document.createElement(TAG);
  host.id = ROOT_ID;
  document.documentElement.append(host);
})();
