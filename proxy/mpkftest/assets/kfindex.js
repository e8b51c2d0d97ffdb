// 网页版客服工具 (simulated). Renders the way the real React 0.14 console
// does: regions are rebuilt from state when it changes (so chat cards are
// new nodes after every change), every element carries data-reactid, and
// the editor's draft lives in state, updated only by its input events.
(function () {
  'use strict';

  // REACT_IDS says whether the page numbers its elements with data-reactid
  // as React 0.14 did. The server serves a copy of this file with false
  // for Options.NoReactID: React 15 and later render no such attribute, so
  // a newer console may have none. Keep this line as it is: the server
  // finds it by its text.
  const REACT_IDS = true;

  const cgiData = (window.MCS && window.MCS.cgiData) || {};
  const token = cgiData.token || '';
  const kf = cgiData.kf_info || {};
  const NO_AVATAR = '/mpres/htmledition/images/avatar_default.svg';

  const state = {
    seq: cgiData.seq || 0,
    sessions: [], // {uin, kfsession, last, maxId, unread, msgs, fromKf}
    selected: 0,
    selectedAt: 0, // performance.now() of the last change of selected
    waiting: [],
    unacceptedSeq: null,
    auto: false,
    accepting: false,
    autoTried: new Set(),
    transferring: false,
    drafts: {},
    editorUin: 0,
    fastReplies: null,
    fastReplyOpen: false,
    fastReplyText: null,
  };

  // ---- cgi ----

  function cgi(name, action, params, form, stamp) {
    let q = 'action=' + encodeURIComponent(action);
    for (const k in params || {}) q += '&' + k + '=' + encodeURIComponent(params[k]);
    q += '&token=' + encodeURIComponent(token) + '&lang=zh_CN&f=json&ajax=1&' + (stamp || 'r') + '=' + Date.now();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(form ? 'POST' : 'GET', '/cgi-bin/' + name + '?' + q, true);
      xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
      if (stamp === 't') xhr.timeout = 60000;
      let body = null;
      if (form) {
        xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8');
        body = new URLSearchParams(form).toString();
      }
      xhr.onload = () => {
        let resp;
        try {
          resp = JSON.parse(xhr.responseText);
        } catch (e) {
          reject(new Error(name + ' ' + action + ': bad response'));
          return;
        }
        const ret = resp.base_resp ? resp.base_resp.ret : -1;
        if (ret === 200003) {
          location.href = '/cgi-bin/kfloginpage';
          reject(new Error('invalid session'));
          return;
        }
        resolve(resp);
      };
      xhr.onerror = xhr.ontimeout = () => reject(new Error(name + ' ' + action + ': network error'));
      xhr.send(body);
    });
  }

  // ---- helpers ----

  // The JSON carries http://wx.qlogo.cn/mmhead/<id>; the page shows the
  // 132-pixel image over https.
  function pageAvatar(url) {
    if (!url) return NO_AVATAR;
    return url.replace(/^http:\/\//, 'https://').replace(/\/(0|46|64|96|132)$/, '') + '/132';
  }

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }

  function fmtTime(unix) {
    if (!unix) return '';
    const d = new Date(unix * 1000);
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return pad(d.getHours()) + ':' + pad(d.getMinutes());
    return (d.getMonth() + 1) + '月' + d.getDate() + '日';
  }

  function ago(unix) {
    const min = Math.floor((Date.now() / 1000 - unix) / 60);
    if (min < 1) return '刚刚';
    if (min < 60) return min + '分钟前';
    return fmtTime(unix);
  }

  function h(tag, props, children) {
    const el = document.createElement(tag);
    for (const k in props || {}) {
      const v = props[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === 'className') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'key') el._reactKey = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2).toLowerCase(), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children || []) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
  }

  // assignIds numbers a subtree as React 0.14 did: ".0.1.2", with "$key"
  // for keyed children and indexes in base 36.
  function assignIds(el, id) {
    if (!REACT_IDS) return;
    el.setAttribute('data-reactid', id);
    let i = 0;
    for (let c = el.firstElementChild; c; c = c.nextElementSibling, i++) {
      assignIds(c, id + '.' + (c._reactKey !== undefined ? '$' + c._reactKey : i.toString(36)));
    }
  }

  // rerender replaces a region's children and renumbers it.
  function rerender(region, children) {
    region.replaceChildren(...children.filter(Boolean));
    assignIds(region, region.getAttribute('data-reactid'));
  }

  let toastTimer = 0;
  function toast(text) {
    const el = document.querySelector('.toast') || document.body.appendChild(h('div', {className: 'toast'}));
    el.textContent = text;
    el.classList.add('toast_show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove('toast_show'), 3000);
  }

  const selectListeners = [];

  function find(uin) {
    return state.sessions.find((s) => s.uin === uin) || null;
  }

  function selected() {
    return find(state.selected);
  }

  // ---- state changes ----

  function addSession(kfsession, summary) {
    let s = find(kfsession.fans_uin);
    if (s) {
      s.kfsession = kfsession;
      return s;
    }
    const last = (summary && summary.msg) || {};
    s = {
      uin: kfsession.fans_uin,
      kfsession: kfsession,
      last: last,
      maxId: last.msgid || 0,
      unread: (summary && summary.unread_cnt) || 0,
      msgs: null,
      fromKf: null,
    };
    state.sessions.push(s);
    return s;
  }

  // addMsg records a message from the server; false when already known.
  function addMsg(s, m) {
    if (m.msgid <= s.maxId) return false;
    s.maxId = m.msgid;
    s.last = m;
    if (s.msgs) s.msgs.push(m);
    return true;
  }

  // select opens a chat: by a click on its card, by ArrowUp/ArrowDown, or
  // by the console itself after an accept, a transfer or a close. Every
  // time, the chat's history is fetched again (kfmsg getfansmsglist with
  // fansuin=<uin>), even when it was loaded before: public code of 2018
  // loads it when a chat is opened, and a Redux console fetches what the
  // opened chat shows rather than trusting a copy. The cached messages
  // show meanwhile.
  // Clicking the chat that is already open does nothing, as a reducer
  // that compares the id would.
  function select(uin) {
    const s = find(uin);
    if (!s || state.selected === uin) return;
    setSelected(uin);
    s.unread = 0;
    state.fastReplyOpen = false;
    renderCards();
    renderChat();
    loadHistory(s);
    const card = document.querySelector('.card_selected');
    if (card) card.scrollIntoView({block: 'nearest'});
  }

  // setSelected is the one place the selection changes, so the harness
  // hook below sees every change.
  function setSelected(uin) {
    state.selected = uin;
    state.selectedAt = performance.now();
    for (const fn of selectListeners) {
      try {
        fn(uin, state.selectedAt);
      } catch (e) {
        setTimeout(() => { throw e; });
      }
    }
  }

  function removeSession(uin) {
    const i = state.sessions.findIndex((s) => s.uin === uin);
    if (i < 0) return;
    state.sessions.splice(i, 1);
    delete state.drafts[uin];
    if (state.selected === uin) {
      setSelected(0);
      const next = state.sessions[Math.min(i, state.sessions.length - 1)];
      if (next) {
        select(next.uin);
        return;
      }
    }
    renderCards();
    renderChat();
  }

  function loadHistory(s) {
    cgi('kfmsg', 'getfansmsglist', {fansuin: s.uin, lastmsgid: 0, count: 30}).then((resp) => {
      if (resp.base_resp.ret !== 0) return;
      const list = (resp.msglist || []).map((it) => it.msg);
      const ids = new Set(list.map((m) => m.msgid));
      const local = (s.msgs || []).filter((m) => !m.msgid || !ids.has(m.msgid));
      s.msgs = list.concat(local);
      let newer = false;
      for (const m of list) {
        if (m.msgid > s.maxId) {
          s.maxId = m.msgid;
          s.last = m;
          newer = true;
        }
      }
      // A message the history brought first is not news to the poll that
      // brings it next (addMsg skips it): its card shows it now.
      if (newer) renderCards();
      if (s.uin === state.selected) renderMessages();
    });
  }

  function loadWaiting() {
    return cgi('kfunaccepted', 'getmsglist', {}).then((resp) => {
      if (resp.base_resp.ret !== 0) return;
      state.waiting = resp.msglist || [];
      renderWaiting();
      if (state.auto) autoAccept();
    });
  }

  function addCreated(items) {
    const added = [];
    for (const it of items || []) {
      if (it.base_resp && it.base_resp.ret === 0 && it.kfsession) {
        addSession(it.kfsession, it.msgsummary);
        added.push(it.kfsession.fans_uin);
      }
    }
    state.waiting = state.waiting.filter((w) => !added.includes(w.msg.useruin));
    return added;
  }

  // accept is the 接入 button: one fan, chosen by the agent, who then
  // sees the new chat (the console opens it by itself).
  function accept(uin) {
    cgi('kfsessionmgr', 'kfcreatesession', {fansuinlist: uin}).then((resp) => {
      const added = addCreated(resp.kfcreatesession_resp);
      if (added.includes(uin)) {
        renderWaiting();
        select(uin);
      } else {
        toast('接入失败，该客户可能已被其他客服接入');
      }
      return loadWaiting();
    }, () => toast('网络异常，请稍后重试'));
  }

  function batchAccept(uins, selectAll, isAuto) {
    if (!uins.length || state.accepting) return;
    state.accepting = true;
    cgi('kfunaccepted', 'kfbatchcreatesession', {}, {
      fansuinlist: uins.join(','),
      isselectall: selectAll ? 1 : 0,
      isauto: isAuto ? 1 : 0,
    }).then((resp) => {
      const items = resp.kfcreatesession_resp || [];
      const added = addCreated(items);
      renderWaiting();
      renderCards();
      // 全部接入 is the agent's own click, so the console opens the first
      // chat it accepted, as 接入 opens its one. The auto-accept switch
      // accepts while the agent is busy with another chat: it opens a new
      // chat only when none is open, so as not to pull the agent away.
      if (added.length && (!isAuto || !state.selected)) select(added[0]);
      if (added.length) toast('已接入 ' + added.length + ' 位客户');
      if (added.length < items.length) toast((items.length - added.length) + ' 位客户已被其他客服接入');
    }, () => toast('网络异常，请稍后重试')).finally(() => {
      state.accepting = false;
      loadWaiting();
    });
  }

  function autoAccept() {
    const uins = state.waiting.map((w) => w.msg.useruin).filter((u) => !state.autoTried.has(u));
    if (!uins.length || state.accepting) return;
    uins.forEach((u) => state.autoTried.add(u));
    batchAccept(uins, false, true);
  }

  function toggleAuto() {
    state.auto = !state.auto;
    state.autoTried.clear();
    renderHeader();
    toast(state.auto ? '已开启自动接入' : '已关闭自动接入');
    if (state.auto) autoAccept();
  }

  function loadTransfers() {
    if (state.transferring) return;
    state.transferring = true;
    cgi('kftransfer', 'gettransferinfo', {}).then((resp) => {
      const list = resp.transfer_info_list || [];
      for (const t of list) {
        const s = addSession(t.kfsession, t.msgsummary);
        s.fromKf = t.from_kf;
        s.unread = Math.max(s.unread, 1);
        toast((t.from_kf && t.from_kf.nickname) + ' 向你转接了客户「' + t.kfsession.nickname + '」');
      }
      renderCards();
      // Taking the transfers is accepting them, and the console opens the
      // (first) transferred chat, as 接入 opens the accepted one: a
      // colleague handed it over because it needs an answer now.
      if (list.length) select(list[0].kfsession.fans_uin);
    }).finally(() => {
      state.transferring = false;
    });
  }

  function closeSession() {
    const s = selected();
    if (!s) return;
    cgi('kfsessionmgr', 'kfclosesession', {fansuin: s.uin, sessionid: s.kfsession.session_id}).then((resp) => {
      if (resp.base_resp.ret === 0) removeSession(s.uin);
      else toast('结束会话失败');
    });
  }

  function send() {
    const s = selected();
    if (!s) return;
    const content = (state.drafts[s.uin] || '').replace(/\s+$/, '');
    if (!content.trim()) return;
    const clientmsgid = String(Date.now()) + String(Math.floor(Math.random() * 1000)).padStart(3, '0');
    const isFast = content === state.fastReplyText;
    const local = {
      msgid: 0, fromuin: kf.kf_uin, touin: s.uin, msgtype: 1, content: content,
      createtime: Math.floor(Date.now() / 1000), pending: true,
    };
    if (!s.msgs) s.msgs = [];
    s.msgs.push(local);
    s.last = local;
    state.drafts[s.uin] = '';
    state.fastReplyText = null;
    editor.textContent = '';
    renderCards();
    renderMessages();
    cgi('kfmsg', 'send', {}, {
      sessionid: s.kfsession.session_id,
      fans_openid: s.kfsession.fans_openid,
      msgtype: 1,
      content: content,
      isfastreply: isFast ? 1 : 0,
      clientmsgid: clientmsgid,
    }).then((resp) => {
      local.pending = false;
      if (resp.base_resp.ret === 0) {
        local.msgid = resp.msgid;
        local.createtime = resp.createtime;
        s.maxId = Math.max(s.maxId, resp.msgid);
      } else {
        local.failed = true;
      }
    }, () => {
      local.pending = false;
      local.failed = true;
    }).finally(() => {
      if (s.uin === state.selected) renderMessages();
    });
  }

  function onNewMsg(resp) {
    if (resp.base_resp.ret !== 0) throw new Error('getnewmsg: ret ' + resp.base_resp.ret);
    state.seq = resp.seq;
    let changed = false;
    for (const it of resp.msglist || []) {
      const s = find(it.msg.fromuin);
      if (s && addMsg(s, it.msg)) {
        changed = true;
        if (s.uin !== state.selected) s.unread++;
        else if (s.msgs) renderMessages();
      }
    }
    if (changed) renderCards();
    if (resp.unaccepted && resp.unaccepted.seq !== state.unacceptedSeq) {
      state.unacceptedSeq = resp.unaccepted.seq;
      loadWaiting();
    }
    if (resp.transfer_cnt > 0) loadTransfers();
  }

  function poll() {
    cgi('kfmsg', 'getnewmsg', {seq: state.seq}, null, 't')
      .then(onNewMsg)
      .then(poll, () => setTimeout(poll, 3000));
  }

  function loadSettings() {
    cgi('kfsettings', 'getsettings', {}).then((resp) => {
      if (resp.base_resp.ret !== 0) return;
      state.fastReplies = {
        mine: (resp.config && resp.config.fastreply_list) || [],
        shared: (resp.public_reply && resp.public_reply.fastreply_list) || [],
      };
    });
  }

  function useFastReply(text) {
    const s = selected();
    if (!s) return;
    state.drafts[s.uin] = text;
    state.fastReplyText = text;
    state.fastReplyOpen = false;
    editor.textContent = text;
    renderFastReply();
    editor.focus();
    const range = document.createRange();
    range.selectNodeContents(editor);
    range.collapse(false);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // ---- rendering ----

  let header, waitingPanel, sessionHd, cardList, chatHeader, messageList, chatEmpty, chatMain, fastReplyPop, editor;

  function mount() {
    header = h('div', {className: 'main_header'});
    waitingPanel = h('div', {className: 'waiting_panel'});
    sessionHd = h('div', {className: 'session_hd'});
    cardList = h('div', {className: 'card_list'});
    chatHeader = h('div', {className: 'chat_header'});
    messageList = h('div', {className: 'message_list'});
    chatEmpty = h('div', {className: 'chat_empty'}, [
      h('i', {className: 'chat_empty_icon'}),
      h('p', {text: '暂无进行中的会话'}),
      h('p', {className: 'chat_empty_tips', text: '接入排队中的客户后，在这里与客户沟通'}),
    ]);
    fastReplyPop = h('div', {className: 'fastreply_pop'});
    editor = h('pre', {id: 'editor', className: 'edit_area', contenteditable: 'true', spellcheck: 'false'});
    editor.addEventListener('input', () => {
      if (state.editorUin) state.drafts[state.editorUin] = editor.innerText;
    });
    editor.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        send();
      }
    });
    chatMain = h('div', {className: 'chat_main'}, [
      chatHeader,
      h('div', {className: 'chat_body'}, [messageList]),
      h('div', {className: 'chat_edit'}, [
        h('div', {className: 'chat_edit_toolbar'}, [
          h('a', {className: 'chat_tool chat_tool_emotion', href: 'javascript:;', title: '表情'}),
          h('a', {className: 'chat_tool chat_tool_image', href: 'javascript:;', title: '图片'}),
          h('a', {className: 'chat_tool chat_tool_fastreply', href: 'javascript:;', text: '快捷回复', onClick: (e) => {
            e.stopPropagation();
            state.fastReplyOpen = !state.fastReplyOpen;
            renderFastReply();
          }}),
          fastReplyPop,
        ]),
        h('div', {className: 'chat_edit_input'}, [editor]),
        h('div', {className: 'chat_edit_footer'}, [
          h('span', {className: 'chat_edit_tips', text: '按 Enter 发送，Shift + Enter 换行'}),
          h('button', {className: 'btn btn_primary btn_send', type: 'button', text: '发送', onClick: send}),
        ]),
      ]),
    ]);
    const root = h('div', {className: 'main'}, [
      h('div', {className: 'main_content'}, [
        header,
        h('div', {className: 'main_body'}, [
          h('div', {className: 'session_panel'}, [waitingPanel, sessionHd, cardList]),
          h('div', {className: 'chat_panel'}, [chatEmpty, chatMain]),
        ]),
      ]),
    ]);
    assignIds(root, '.0');
    document.getElementById('app').replaceWith(root);
    document.addEventListener('click', () => {
      if (state.fastReplyOpen) {
        state.fastReplyOpen = false;
        renderFastReply();
      }
    });
    document.addEventListener('keydown', onKeyNav);
    renderHeader();
    renderWaiting();
    renderCards();
    renderChat();
  }

  function onKeyNav(e) {
    if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
    const t = e.target;
    if (t === editor || t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)) return;
    if (!state.sessions.length) return;
    const i = state.sessions.findIndex((s) => s.uin === state.selected);
    let j = e.key === 'ArrowDown' ? i + 1 : i - 1;
    if (i < 0) j = 0;
    j = Math.max(0, Math.min(state.sessions.length - 1, j));
    e.preventDefault();
    select(state.sessions[j].uin);
  }

  function renderHeader() {
    rerender(header, [
      h('div', {className: 'header_logo'}, [
        h('i', {className: 'logo_icon'}),
        h('span', {className: 'logo_title', text: '网页版客服工具'}),
        h('span', {className: 'logo_account', text: cgiData.nick_name || ''}),
      ]),
      h('div', {className: 'header_opr'}, [
        h('div', {
          className: 'auto_accept' + (state.auto ? ' auto_accept_on' : ''),
          role: 'switch',
          'aria-checked': String(state.auto),
          title: '开启后，排队中的客户将被自动接入',
          onClick: toggleAuto,
        }, [
          h('span', {className: 'switch'}, [h('i', {className: 'switch_handle'})]),
          h('span', {className: 'auto_accept_label', text: '自动接入'}),
        ]),
        h('div', {className: 'kf_state'}, [
          h('img', {className: 'kf_avatar', src: pageAvatar(kf.headimgurl), alt: ''}),
          h('div', {className: 'kf_state_info'}, [
            h('span', {className: 'state_description', text: kf.nickname || ''}),
            h('span', {className: 'state_text'}, [h('i', {className: 'state_dot'}), '在线']),
          ]),
        ]),
      ]),
    ]);
  }

  function renderWaiting() {
    const n = state.waiting.length;
    rerender(waitingPanel, [
      h('div', {className: 'waiting_hd'}, [
        h('span', {className: 'waiting_title'}, ['排队中', h('em', {className: 'waiting_count', text: String(n)})]),
        h('button', {
          className: 'btn btn_default btn_mini btn_accept_all', type: 'button', disabled: n === 0,
          text: '全部接入',
          onClick: () => batchAccept(state.waiting.map((w) => w.msg.useruin), true, false),
        }),
      ]),
      n ? h('ul', {className: 'waiting_list'}, state.waiting.map((w) => h('li', {className: 'waiting_item', key: w.msg.useruin}, [
        h('div', {className: 'waiting_pic'}, [h('img', {src: pageAvatar(w.headimgurl), alt: ''})]),
        h('div', {className: 'waiting_info'}, [
          h('div', {className: 'waiting_info_hd'}, [
            h('span', {className: 'waiting_nick', text: w.nickname}),
            h('span', {className: 'waiting_time', text: ago(w.msg.createtime)}),
          ]),
          h('div', {className: 'waiting_msg', text: w.msg.content}),
        ]),
        h('button', {className: 'btn btn_primary btn_mini btn_accept', type: 'button', text: '接入', onClick: () => accept(w.msg.useruin)}),
      ]))) : h('div', {className: 'waiting_empty', text: '暂无排队中的客户'}),
    ]);
  }

  function renderCards() {
    rerender(sessionHd, [h('span', {text: '当前会话'}), h('em', {className: 'session_count', text: String(state.sessions.length)})]);
    rerender(cardList, state.sessions.length ? state.sessions.map((s) => h('div', {
      className: 'card' + (s.uin === state.selected ? ' card_selected' : ''),
      key: s.uin,
      onClick: () => select(s.uin),
    }, [
      h('div', {className: 'card_pic'}, [
        h('img', {src: pageAvatar(s.kfsession.headimgurl), alt: ''}),
        s.unread ? h('span', {className: 'card_badge', text: s.unread > 99 ? '99+' : String(s.unread)}) : null,
      ]),
      h('div', {className: 'card_content'}, [
        h('div', {className: 'card_content_hd'}, [
          h('span', {className: 'card_content_nick', text: s.kfsession.nickname}),
          h('span', {className: 'card_content_time', text: fmtTime(s.last.createtime)}),
        ]),
        h('div', {className: 'card_content_detail', text: s.last.content || ''}),
      ]),
    ])) : [h('div', {className: 'card_empty', text: '暂无会话'})]);
  }

  function renderChat() {
    const s = selected();
    chatEmpty.hidden = !!s;
    chatMain.hidden = !s;
    if (state.editorUin !== state.selected) {
      state.editorUin = state.selected;
      editor.textContent = (s && state.drafts[s.uin]) || '';
      state.fastReplyText = null;
    }
    if (!s) return;
    rerender(chatHeader, [
      h('div', {className: 'chat_header_info'}, [
        h('span', {className: 'chat_header_name', text: s.kfsession.nickname}),
        h('span', {className: 'chat_header_desc', text: '来自小程序' + (s.fromKf ? ' · ' + s.fromKf.nickname + ' 转接' : '') + ' · ' + fmtTime(s.kfsession.start_time) + ' 接入'}),
      ]),
      h('div', {className: 'chat_header_opr'}, [
        h('button', {className: 'btn btn_default btn_mini btn_close_session', type: 'button', text: '结束会话', onClick: closeSession}),
      ]),
    ]);
    renderMessages();
    renderFastReply();
  }

  function renderMessages() {
    const s = selected();
    if (!s) return;
    if (!s.msgs) {
      rerender(messageList, [h('div', {className: 'message_loading', text: '加载中…'})]);
      return;
    }
    const out = [];
    let prev = 0;
    for (const m of s.msgs) {
      if (!prev || m.createtime - prev > 300) {
        out.push(h('div', {className: 'message_time'}, [h('span', {text: fmtTime(m.createtime)})]));
      }
      prev = m.createtime;
      const fromFan = m.fromuin === s.uin;
      const colleague = !fromFan && m.fromuin !== kf.kf_uin;
      out.push(h('div', {className: 'message_box ' + (fromFan ? 'message_box_fans' : 'message_box_kf'), key: m.msgid || undefined}, [
        h('div', {className: 'message_avatar'}, [
          h('img', {src: fromFan ? pageAvatar(s.kfsession.headimgurl) : (colleague ? NO_AVATAR : pageAvatar(kf.headimgurl)), alt: ''}),
        ]),
        h('div', {className: 'message_content'}, [
          colleague ? h('div', {className: 'message_sender', text: (s.fromKf && s.fromKf.nickname) || '其他客服'}) : null,
          h('div', {className: 'message_bubble'}, [h('pre', {className: 'message_text', text: m.content})]),
          m.pending ? h('i', {className: 'message_status message_status_sending', title: '发送中'}) : null,
          m.failed ? h('i', {className: 'message_status message_status_fail', title: '发送失败', text: '!'}) : null,
        ]),
      ]));
    }
    rerender(messageList, out);
    messageList.parentNode.scrollTop = messageList.parentNode.scrollHeight;
  }

  function renderFastReply() {
    if (!state.fastReplyOpen || !state.fastReplies) {
      fastReplyPop.hidden = true;
      return;
    }
    fastReplyPop.hidden = false;
    const group = (title, list) => [
      h('div', {className: 'fastreply_group', text: title}),
      ...list.map((r) => h('div', {className: 'fastreply_item', 'data-fastreply': r.content, text: r.content, onClick: (e) => {
        e.stopPropagation();
        useFastReply(r.content);
      }})),
    ];
    rerender(fastReplyPop, [...group('我的快捷回复', state.fastReplies.mine), ...group('公共快捷回复', state.fastReplies.shared)]);
  }

  // ---- harness hook ----

  // window.__mpkftest is for test harnesses only (mpkftest's tests,
  // kfsidebar's end-to-end tests, bench/cmd/identitybench): the truth about
  // what the console shows, which the real console has no way to say.
  // kfsidebar must never read it (a test in mpkftest checks sidebar.js):
  // a sidebar that did would pass every test here and fail on the real
  // console. It reads state and adds nothing to the DOM.
  function nthSelector(list, i, inner) {
    return i < 0 ? '' : list + ':nth-child(' + (i + 1) + ')' + (inner ? ' ' + inner : '');
  }
  Object.defineProperty(window, '__mpkftest', {value: Object.freeze({
    // selectedUin is the fans_uin of the open chat, 0 when none is.
    selectedUin: () => state.selected,
    // selectedAt is performance.now() when the selection last changed.
    selectedAt: () => state.selectedAt,
    // onSelect calls fn(uin, at) on every change of the selection, at once
    // (uin 0: none), before the history request is sent.
    onSelect: (fn) => {
      selectListeners.push(fn);
    },
    // sessions are the open chats' uins in card order; waiting the
    // waiting fans' uins in list order.
    sessions: () => state.sessions.map((s) => s.uin),
    waiting: () => state.waiting.map((w) => w.msg.useruin),
    // cardSelector is a CSS selector of uin's chat card, acceptSelector of
    // the 接入 button of uin in the waiting list; '' when there is none.
    // They work with and without data-reactid.
    cardSelector: (uin) => nthSelector('.card_list > .card', state.sessions.findIndex((s) => s.uin === uin), ''),
    acceptSelector: (uin) => nthSelector('.waiting_list > .waiting_item', state.waiting.findIndex((w) => w.msg.useruin === uin), '.btn_accept'),
    // reactIDs says whether the page renders data-reactid.
    reactIDs: REACT_IDS,
  })});

  // ---- start ----

  const boot = (cgiData.sessions && cgiData.sessions.kfsession_and_msgsummary) || [];
  for (const it of boot) addSession(it.kfsession, it.msgsummary);
  state.unacceptedSeq = cgiData.unaccepted ? cgiData.unaccepted.seq : null;
  mount();
  if (state.sessions.length) select(state.sessions[0].uin);
  loadWaiting();
  loadSettings();
  poll();
})();
