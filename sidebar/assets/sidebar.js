// kfsidebar: the customer sidebar injected into the WeChat customer-service
// web console. Plain JavaScript, no build step: the Go side (sidebar/assets.go)
// only replaces the CSS placeholder below with sidebar.css. The websocket
// protocol is documented in sidebar/doc.go; the names here match it.
//
// Everything that reads the console's DOM degrades gracefully: class names
// are hints, the avatar image near the click is the fallback that always
// works. Everything the sidebar draws is built with createElement and
// textContent, never from HTML strings.
(() => {
  'use strict';

  const SIDEBAR_CSS = "/*kfsidebar:css*/";

  const TAG = 'kf-sidebar';
  const ROOT_ID = 'kfsidebar-root';
  const COLLAPSED_KEY = 'kfsidebar.collapsed';
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const HINT_AFTER_FAILURES = 3;
  const PANEL_WIDTH = 340; // px: .panel's width in sidebar.css

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
  // avatars too (the agent's own among them).
  const NOT_A_CHAT = '.message_box, [class*="message_"], .chat_edit_input, [contenteditable="true"], input, textarea, select';
  const UIN_RE = /\$(\d+)$/;
  const MAX_CARD_HEIGHT = 200; // px; taller than any chat card: we climbed into the list

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

  // ---- Formatting -----------------------------------------------------

  // The canonical statuses of the import format (sidebar/import.go), with
  // a tone for the badge. Any other value is shown as it came.
  const ORDER_STATUS = {
    pending: ['待付款', 'warn'], paid: ['待发货', 'info'], partially_shipped: ['部分发货', 'info'],
    shipped: ['已发货', 'info'], delivered: ['已签收', 'ok'], completed: ['已完成', 'ok'],
    cancelled: ['已取消', 'muted'], canceled: ['已取消', 'muted'], closed: ['已关闭', 'muted'],
    refunding: ['售后中', 'danger'], refunded: ['已退款', 'muted'],
  };
  const REFUND_STATUS = {
    requested: '申请退款', approved: '退款已同意', returned: '已退货',
    refunded: '已退款', rejected: '退款被拒',
  };

  function orderStatus(s) {
    const known = ORDER_STATUS[String(s || '').toLowerCase()];
    return known || [s || '未知状态', 'muted'];
  }

  function refundStatus(s) {
    return REFUND_STATUS[String(s || '').toLowerCase()] || s;
  }

  // yuan formats fen as ¥1,299.00 with integer arithmetic only.
  function yuan(fen) {
    const n = Math.trunc(Number(fen) || 0);
    const a = Math.abs(n);
    const whole = String(Math.floor(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${n < 0 ? '-' : ''}¥${whole}.${String(a % 100).padStart(2, '0')}`;
  }

  // maskPhone keeps the first and last digits: 138****5678.
  function maskPhone(p) {
    const s = String(p || '').replace(/\s+/g, '');
    if (s.length >= 11) return `${s.slice(0, s.length - 8)}****${s.slice(-4)}`;
    if (s.length >= 7) return `${s.slice(0, 2)}****${s.slice(-2)}`;
    return s ? '****' : '';
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

  const pad2 = (n) => String(n).padStart(2, '0');

  // when formats a time for people who look at it all day: 今天 14:20,
  // 昨天 09:05, 05-03 14:20, 2023-12-30 14:20.
  function when(iso, withToday) {
    const d = new Date(iso);
    if (!iso || isNaN(d) || d.getFullYear() < 2000) return '';
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    const now = new Date();
    const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
    const diff = Math.round((day(now) - day(d)) / 86400000);
    if (withToday && diff === 0) return `今天 ${hm}`;
    if (withToday && diff === 1) return `昨天 ${hm}`;
    const md = `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
    return d.getFullYear() === now.getFullYear() ? `${md} ${hm}` : `${d.getFullYear()}-${md} ${hm}`;
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

  // avatar shows a user's picture over the first letter of their name,
  // which stays when there is no picture or it fails to load (no
  // broken-image icon). WeChat's JSON gives http:// avatar URLs; the
  // console is https, so they are asked for over https.
  function avatar(cls) {
    const img = el('img', { alt: '', referrerpolicy: 'no-referrer' });
    img.addEventListener('error', () => { img.hidden = true; });
    const box = el('span', { class: `avatar ${cls}`, 'aria-hidden': 'true' }, el('span', { class: 'avatar-letter' }), img);
    return box;
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

  // ---- The element ----------------------------------------------------

  const STATE_LABEL = {
    connecting: '连接中…', idle: '待选择', loading: '查询中…', customer: '已识别',
    unknown: '未识别', ambiguous: '请选择', error: '出错',
  };

  class KfSidebar extends HTMLElement {
    constructor() {
      super();
      this.shadow = this.attachShadow({ mode: 'open' });
      this.started = false;
      this.ws = null;
      this.failures = 0;
      this.retryTimer = 0;
      this.seq = 0;
      this.chat = null; // the selection last sent: {uin, avatar, nickname}
      this.sentKey = '';
      this.seenSelectedKey = '';
      this.checkQueued = false;
      this.buildShell();
    }

    connectedCallback() {
      if (this.started) return;
      this.started = true;
      this.setCollapsed(readCollapsed());
      this.setState('connecting');
      this.renderConnecting();
      this.watchPage();
      this.connect();
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
      this.panel = el('section', { class: 'panel', 'aria-label': '客户资料' },
        el('header', { class: 'head' },
          this.headAvatar,
          el('div', { class: 'head-text' }, this.headName, this.headState),
          el('button', { class: 'collapse', type: 'button', title: '收起', 'aria-label': '收起侧栏', onclick: () => this.setCollapsed(true) }, '›')),
        this.banner,
        this.body);
      this.tab = el('button', { class: 'tab', type: 'button', title: '展开客户资料', onclick: () => this.setCollapsed(false) },
        el('span', { class: 'tab-mark' }), el('span', { class: 'tab-text', text: '客户' }));
      this.shadow.append(this.panel, this.tab);
    }

    setCollapsed(on) {
      this.toggleAttribute('data-collapsed', on);
      narrowPage(!on);
      try {
        if (on) localStorage.setItem(COLLAPSED_KEY, '1');
        else localStorage.removeItem(COLLAPSED_KEY);
      } catch {
        // Storage may be off; the panel still works, it just forgets.
      }
    }

    setState(state, openid) {
      this.dataset.state = state;
      if (openid) this.dataset.openid = openid;
      else delete this.dataset.openid;
      this.headState.textContent = STATE_LABEL[state] || '';
      this.banner.hidden = state !== 'connecting' || !this.body.firstChild || this.body.dataset.view === 'connecting';
      this.body.classList.toggle('stale', state === 'connecting');
    }

    setHeader(nickname, avatar) {
      this.headName.textContent = nickname || '客户资料';
      setAvatar(this.headAvatar, avatar, nickname);
      this.headAvatar.hidden = !avatar && !nickname;
    }

    show(view, ...nodes) {
      this.body.dataset.view = view;
      this.body.replaceChildren(...nodes);
      this.body.scrollTop = 0;
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

    request(msg) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
      this.seq++;
      this.ws.send(JSON.stringify({ ...msg, seq: this.seq }));
      return true;
    }

    sendSelect(chat) {
      this.setHeader(chat.nickname, chat.avatar);
      if (this.request({ type: 'select', uin: chat.uin, avatar: chat.avatar, nickname: chat.nickname })) {
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
      if (!msg || msg.seq !== this.seq) return; // an answer to a replaced request
      switch (msg.type) {
        case 'loading':
          this.setState('loading');
          if (this.body.dataset.view !== 'loading') this.renderLoading();
          break;
        case 'customer':
          this.setState('customer', msg.openid);
          if (msg.nickname) this.headName.textContent = msg.nickname;
          this.renderCustomer(msg.customer || {});
          break;
        case 'unknown':
          this.setState('unknown');
          this.renderUnknown(msg.reason, msg.openid);
          break;
        case 'ambiguous':
          this.setState('ambiguous');
          this.renderAmbiguous(msg.candidates || []);
          break;
        case 'error':
          this.setState('error');
          this.renderError(msg.message);
          break;
      }
    }

    // ---- following the console's selection ----

    watchPage() {
      document.addEventListener('click', (ev) => this.onClick(ev), true);
      new MutationObserver(() => this.queueCheck()).observe(document.documentElement, {
        childList: true, subtree: true, attributes: true, attributeFilter: ['class'],
      });
      this.queueCheck();
    }

    onClick(ev) {
      if (ev.composedPath().includes(this)) return;
      const t = ev.target instanceof Element ? ev.target : ev.target && ev.target.parentElement;
      const card = t && cardFromClick(t);
      if (card) this.choose(readCard(card));
    }

    // queueCheck checks the selection once per animation frame at most,
    // however many mutations React makes.
    queueCheck() {
      if (this.checkQueued) return;
      this.checkQueued = true;
      requestAnimationFrame(() => {
        this.checkQueued = false;
        if (!this.isConnected) document.documentElement.append(this);
        const sel = findSelected();
        if (!sel) return;
        const chat = readCard(sel);
        const key = identity(chat);
        // Only a change of the console's selection counts: a click on
        // another avatar must not be undone by the next re-render.
        if (key === this.seenSelectedKey) return;
        this.seenSelectedKey = key;
        this.choose(chat);
      });
    }

    choose(chat) {
      if (isEmpty(chat) || identity(chat) === this.sentKey) return;
      this.sentKey = identity(chat);
      this.chat = chat;
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

    renderUnknown(reason, openid) {
      if (reason === 'not_in_shop') {
        this.show('not_in_shop', el('div', { class: 'empty' },
          el('div', { class: 'glyph', text: '∅' }),
          el('h2', { text: '店铺里没有这位客户' }),
          el('p', { class: 'hint', text: '这位微信用户还没有在店铺下过单，或者店铺数据还没有同步。' }),
          openid ? el('p', { class: 'mono', text: `openid ${openid}` }) : null));
        return;
      }
      this.show('no_session', el('div', { class: 'empty' },
        el('div', { class: 'glyph', text: '?' }),
        el('h2', { text: '还没认出这位客户' }),
        el('p', { class: 'hint', text: '只有在 kfsidebar 运行时接入的会话才能识别。新接入的会话会自动显示，无需刷新。' })));
    }

    renderAmbiguous(candidates) {
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
      this.show('ambiguous', el('div', { class: 'chooser' },
        el('h2', { text: '有几位客户头像相同' }),
        el('p', { class: 'hint', text: '请选择正在聊天的这一位：' }),
        list));
    }

    renderError(message) {
      this.show('error', el('div', { class: 'empty' },
        el('div', { class: 'glyph error', text: '!' }),
        el('h2', { text: '出错了' }),
        el('p', { class: 'hint', text: message || '查询客户资料失败' }),
        el('button', { class: 'btn', type: 'button', onclick: () => this.retryLookup() }, '重试')));
    }

    pick(openid) {
      if (this.request({ type: 'pick', openid })) {
        this.setState('loading');
        this.renderLoading();
      }
    }

    retryLookup() {
      if (this.request({ type: 'refresh' })) {
        this.setState('loading');
        this.renderLoading();
      }
    }

    renderCustomer(c) {
      const tags = (c.tags || []).filter(Boolean);
      const fields = el('dl', { class: 'fields' });
      const field = (label, value, cls) => {
        if (!value) return;
        fields.append(el('div', { class: 'field' }, el('dt', { text: label }), el('dd', { class: cls, text: value })));
      };
      field('手机', maskPhone(c.phone), 'mono');
      field('备注', c.note, 'note');
      const admin = safeURL(c.admin_url);
      const profile = el('div', { class: 'box profile' },
        el('div', { class: 'name-row' },
          el('span', { class: 'name', text: c.name || '（未填写姓名）' }),
          c.level ? el('span', { class: 'level', text: c.level }) : null),
        tags.length ? el('div', { class: 'tags' }, tags.map((t) => el('span', { class: 'tag', text: t }))) : null,
        fields.firstChild ? fields : null,
        admin ? el('a', { class: 'link', href: admin, target: '_blank', rel: 'noopener noreferrer' }, '在店铺后台查看 ↗') : null);

      const orders = c.orders || [];
      const section = el('div', { class: 'orders' },
        el('h3', null, '最近订单', el('span', { class: 'count', text: String(orders.length) })));
      if (!orders.length) section.append(el('p', { class: 'hint none', text: '暂无订单' }));
      else section.append(el('ol', { class: 'order-list' }, orders.map((o) => this.orderRow(o))));
      this.show('customer', profile, section);
    }

    orderRow(o) {
      const [statusText, tone] = orderStatus(o.status);
      const link = safeURL(o.admin_url);
      const no = link
        ? el('a', { class: 'order-no', href: link, target: '_blank', rel: 'noopener noreferrer', text: o.order_no })
        : el('span', { class: 'order-no', text: o.order_no });
      const refund = o.refund && o.refund.status && o.refund.status !== 'none' ? o.refund : null;
      const ship = [o.carrier, o.tracking_no].filter(Boolean).join(' ');
      return el('li', { class: 'order', 'data-order-no': o.order_no },
        el('div', { class: 'order-top' }, no, el('span', { class: `status ${tone}`, text: statusText })),
        el('div', { class: 'order-items', text: itemsSummary(o.items) }),
        el('div', { class: 'order-meta' },
          el('span', { class: 'amount', text: yuan(o.amount_fen) }),
          el('span', { class: 'date', text: when(o.created_at, false) })),
        ship ? el('div', { class: 'order-ship' }, el('span', { class: 'label', text: '物流' }), el('span', { class: 'mono', text: ship })) : null,
        refund ? el('div', { class: 'order-refund' },
          el('span', { class: 'refund-state', text: refundStatus(refund.status) }),
          refund.amount_fen ? el('span', { text: yuan(refund.amount_fen) }) : null,
          refund.reason ? el('span', { class: 'refund-reason', text: refund.reason }) : null) : null);
    }
  }

  // The open panel narrows the page instead of covering it, so no console
  // control (the auto-accept switch, the agent's status, a scrollbar) ends up
  // under it. The transform makes <body> the containing block of the
  // console's own fixed-position elements, so they follow the narrowed body
  // rather than the viewport. Inline styles set through the CSSOM are not
  // subject to the page's CSP. Collapsing restores what was there.
  let savedBodyStyle = null;
  function narrowPage(on) {
    const b = document.body;
    if (!b) return;
    const props = ['margin-right', 'transform'];
    if (on) {
      if (!savedBodyStyle) savedBodyStyle = props.map((p) => [p, b.style.getPropertyValue(p), b.style.getPropertyPriority(p)]);
      b.style.setProperty('margin-right', PANEL_WIDTH + 'px', 'important');
      b.style.setProperty('transform', 'translateZ(0)', 'important');
    } else if (savedBodyStyle) {
      for (const [p, v, prio] of savedBodyStyle) {
        if (v) b.style.setProperty(p, v, prio);
        else b.style.removeProperty(p);
      }
      savedBodyStyle = null;
    }
  }

  function readCollapsed() {
    try {
      return localStorage.getItem(COLLAPSED_KEY) === '1';
    } catch {
      return false;
    }
  }

  customElements.define(TAG, KfSidebar);
  const host = document.createElement(TAG);
  host.id = ROOT_ID;
  document.documentElement.append(host);
})();
