// The quick reply management page of kfsidebar: plain JS, no build step.
// It talks to the JSON API beside it (api/…); the server checks every
// value, so this page only shows what the server says.
'use strict';

(() => {
  const api = 'api/';
  let data = {groups: [], console: [], variables: []};
  let selected = null; // a group id, or 'console'
  let editing = null; // the id of the reply being edited
  let armed = null; // the delete button waiting for its confirming click
  // drafts keeps what the agent typed into a form and has not saved, by
  // the form's data-draft key ('add:<group id>', 'edit:<reply id>',
  // 'rename:<group id>'), with the error of its last save if that failed,
  // until that form saves or is cancelled (取消, Escape): every redraw
  // (another edit, another group, another form's save) first takes what
  // the forms hold into it and fills the new forms from it, so a long
  // reply is never typed twice. It lives in memory only: closing the page
  // forgets it, as it should customer-facing text.
  const drafts = new Map();
  // drawn holds the values each form on the page was drawn with: a form
  // that still holds them has nothing unsaved.
  const drawn = new WeakMap();

  const $ = (sel) => document.querySelector(sel);

  // h builds an element; text content only, never HTML, so a reply can
  // hold anything.
  function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'text') el.textContent = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'for') el.setAttribute(k, v);
      else el[k] = v;
    }
    for (const c of children) if (c != null) el.append(c);
    return el;
  }

  function say(text, kind = 'ok') {
    const m = $('#message');
    m.textContent = text;
    m.dataset.kind = kind;
  }

  async function call(method, path, body) {
    const init = {method, headers: {}};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = typeof body === 'string' || body instanceof ArrayBuffer ? body : JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(api + path, init);
    } catch {
      throw new Error('未连接到 kfsidebar，请确认它在运行后再试');
    }
    if (resp.status === 204) return null;
    let out = null;
    try {
      out = await resp.json();
    } catch {
      throw new Error(`服务器返回 ${resp.status}`);
    }
    if (!resp.ok) throw new Error(out && out.error ? out.error : `服务器返回 ${resp.status}`);
    return out;
  }

  // act runs an edit without typed text (a delete, a reorder), then
  // reloads everything, failed or not: the server is the truth.
  async function act(fn, done) {
    try {
      await fn();
      if (done) say(done);
    } catch (e) {
      say('保存失败：' + e.message, 'error');
    }
    await load();
  }

  // save runs the edit a form asks for. On success the form's draft is
  // dropped and everything reloads, as after any edit. On failure nothing
  // is redrawn: the form keeps what the agent typed, with the error beside
  // it, and saving again retries the same edit.
  async function save(form, fn, done) {
    if (form.dataset.saving) return;
    form.dataset.saving = 'true';
    const key = form.dataset.draft;
    try {
      await fn();
    } catch (e) {
      const error = '保存失败：' + e.message;
      // A redraw while the save was under way drew the form anew.
      const shown = (key && onPage(key)) || form;
      if (key) drafts.set(key, {values: fieldValues(shown), error});
      showFormError(shown, error);
      say(error, 'error');
      return;
    } finally {
      delete form.dataset.saving;
    }
    if (key) forget(key);
    showFormError(form, '');
    say(done);
    await load();
  }

  function fieldValues(form) {
    const out = {};
    for (const el of form.elements) if (el.name) out[el.name] = el.value;
    return out;
  }

  // onPage returns the form on the page with this draft key, if any.
  function onPage(key) {
    return [...document.querySelectorAll('form[data-draft]')].find((f) => f.dataset.draft === key);
  }

  // withDraft notes what a form just built holds, then fills it from its
  // draft, if it has one.
  function withDraft(form) {
    drawn.set(form, fieldValues(form));
    const d = drafts.get(form.dataset.draft);
    if (!d) return form;
    for (const el of form.elements) {
      if (!(el.name in d.values)) continue;
      const was = el.value;
      el.value = d.values[el.name];
      if (el.value !== d.values[el.name]) el.value = was; // a group chosen then deleted
    }
    if (d.error) showFormError(form, d.error);
    return form;
  }

  // keepTyping takes into drafts what each form on the page holds that it
  // was not drawn with, before a redraw replaces the forms. A form back to
  // what it was drawn with has no draft, unless its last save failed.
  function keepTyping() {
    for (const form of document.querySelectorAll('form[data-draft]')) {
      const key = form.dataset.draft;
      const values = fieldValues(form);
      const was = drawn.get(form) || {};
      const d = drafts.get(key);
      if (Object.keys(values).some((k) => values[k] !== was[k])) drafts.set(key, {values, error: d ? d.error : ''});
      else if (d && d.error) d.values = values;
      else drafts.delete(key);
    }
  }

  // forget drops the draft of a form that saved or was cancelled: the form
  // on the page no longer counts as typed, and the next redraw draws it
  // from the server.
  function forget(key) {
    drafts.delete(key);
    const form = onPage(key);
    if (form) {
      drawn.set(form, fieldValues(form));
      showFormError(form, '');
    }
  }

  // dropGone forgets the drafts of replies and groups no longer there
  // (deleted here or elsewhere), quietly: there is nothing to save them to.
  function dropGone() {
    const there = new Set();
    for (const g of data.groups) {
      there.add(`add:${g.id}`).add(`rename:${g.id}`);
      for (const r of g.replies) there.add(`edit:${r.id}`);
    }
    for (const key of drafts.keys()) if (!there.has(key)) drafts.delete(key);
    if (editing !== null && !there.has(`edit:${editing}`)) editing = null;
  }

  // showFormError shows text below the form's fields, or removes it.
  function showFormError(form, text) {
    let p = form.querySelector(':scope > .form-error');
    if (!text) {
      if (p) p.remove();
      return;
    }
    if (!p) form.append(p = h('p', {className: 'form-error'}));
    p.textContent = text;
  }

  async function load() {
    try {
      data = await call('GET', 'groups');
    } catch (e) {
      say('读取失败：' + e.message, 'error');
      return;
    }
    const ids = data.groups.map((g) => g.id);
    if (selected !== 'console' && !ids.includes(selected)) selected = ids.length ? ids[0] : (data.console.length ? 'console' : null);
    if (selected === 'console' && !data.console.length) selected = ids.length ? ids[0] : null;
    render();
  }

  function render() {
    armed = null;
    keepTyping();
    dropGone();
    $('#variables').replaceChildren(...data.variables.map((v) => h('code', {text: `{${v}}`})));
    renderGroups();
    renderGroup();
  }

  function renderGroups() {
    const list = $('#groups');
    const items = data.groups.map((g, i) => h('li', {'data-group-id': String(g.id), className: g.id === selected ? 'selected' : ''},
      h('button', {type: 'button', className: 'group-name', text: g.name, 'aria-current': g.id === selected ? 'true' : 'false',
        on: {click: () => select(g.id)}}),
      h('span', {className: 'count', text: String(g.replies.length)}),
      h('button', {type: 'button', className: 'icon move-up', text: '↑', title: '上移', 'aria-label': `上移分组 ${g.name}`, disabled: i === 0,
        on: {click: () => moveGroup(i, -1)}}),
      h('button', {type: 'button', className: 'icon move-down', text: '↓', title: '下移', 'aria-label': `下移分组 ${g.name}`,
        disabled: i === data.groups.length - 1, on: {click: () => moveGroup(i, 1)}})));
    if (data.console.length) {
      items.push(h('li', {'data-group-id': 'console', className: selected === 'console' ? 'selected console' : 'console'},
        h('button', {type: 'button', className: 'group-name', text: '客服工具快捷回复', on: {click: () => select('console')}}),
        h('span', {className: 'count', text: String(data.console.length)})));
    }
    list.replaceChildren(...items);
  }

  function select(id) {
    selected = id;
    editing = null;
    render();
  }

  function renderGroup() {
    const box = $('#group');
    if (selected === 'console') {
      box.replaceChildren(
        h('h2', {text: '客服工具快捷回复'}),
        h('p', {className: 'muted', text: '这些是网页版客服工具里设置的快捷回复，打开客服工具时自动读取，在这里只能查看。'}),
        h('ol', {className: 'replies'}, ...data.console.map((text) => h('li', {className: 'reply'}, h('p', {className: 'text', text})))));
      return;
    }
    const g = data.groups.find((x) => x.id === selected);
    if (!g) {
      box.replaceChildren(h('p', {className: 'muted', text: '还没有分组，先在左边新建一个。'}));
      return;
    }
    const rename = h('form', {className: 'rename', autocomplete: 'off', 'data-draft': `rename:${g.id}`, on: {submit: (e) => {
      e.preventDefault();
      save(rename, () => call('PUT', `groups/${g.id}`, {name: rename.querySelector('input').value}), '分组已改名');
    }}},
    h('input', {name: 'name', value: g.name, maxLength: 40, required: true, 'aria-label': '分组名称'}),
    h('button', {type: 'submit', text: '改名'}),
    dangerButton('删除分组', `删除分组“${g.name}”和其中 ${g.replies.length} 条回复？`, () =>
      act(() => call('DELETE', `groups/${g.id}`), '分组已删除')));
    box.replaceChildren(
      h('h2', {text: g.name}),
      withDraft(rename),
      // A reply with unsaved edits stays open until they are saved or cancelled.
      h('ol', {className: 'replies'}, ...g.replies.map((r, i) =>
        r.id === editing || drafts.has(`edit:${r.id}`) ? replyForm(g, r) : replyItem(g, r, i))),
      h('h3', {text: '添加回复'}),
      replyForm(g, null));
  }

  function replyItem(g, r, i) {
    return h('li', {className: 'reply', 'data-reply-id': String(r.id)},
      r.title ? h('p', {className: 'title', text: r.title}) : null,
      h('p', {className: 'text'}, ...withVariables(r.text)),
      h('div', {className: 'actions'},
        h('button', {type: 'button', className: 'edit', text: '编辑', on: {click: () => { editing = r.id; render(); focusEditor(r.id); }}}),
        h('button', {type: 'button', className: 'icon move-up', text: '↑', title: '上移', 'aria-label': '上移', disabled: i === 0,
          on: {click: () => moveReply(g, i, -1)}}),
        h('button', {type: 'button', className: 'icon move-down', text: '↓', title: '下移', 'aria-label': '下移',
          disabled: i === g.replies.length - 1, on: {click: () => moveReply(g, i, 1)}}),
        dangerButton('删除', '确认删除？', () => act(() => call('DELETE', `replies/${r.id}`), '回复已删除'))));
  }

  // withVariables shows {order_no} and friends as chips, so a typo stands out.
  function withVariables(text) {
    const out = [];
    const re = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
    let last = 0;
    for (let m; (m = re.exec(text));) {
      out.push(text.slice(last, m.index), h('span', {className: 'var', text: m[0]}));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  // replyForm edits reply r of group g, or adds one when r is null.
  function replyForm(g, r) {
    const form = h('form', {className: r ? 'reply editing' : 'add-reply', autocomplete: 'off',
      'data-draft': r ? `edit:${r.id}` : `add:${g.id}`});
    if (r) form.setAttribute('data-reply-id', String(r.id));
    const title = h('input', {name: 'title', value: r ? r.title : '', maxLength: 40, placeholder: '标题（可选，便于搜索）', 'aria-label': '标题'});
    const text = h('textarea', {name: 'text', value: r ? r.text : '', rows: 3, maxLength: 2000, required: true,
      placeholder: '回复内容，例如：您的订单{order_no}已发出', 'aria-label': '回复内容'});
    const chips = data.variables.map((v) => h('button', {type: 'button', className: 'chip', text: `{${v}}`, title: '插入变量',
      on: {click: () => { text.setRangeText(`{${v}}`, text.selectionStart, text.selectionEnd, 'end'); text.focus(); }}}));
    let move = null;
    if (r && data.groups.length > 1) {
      move = h('select', {name: 'group', 'aria-label': '所属分组'},
        ...data.groups.map((x) => h('option', {value: String(x.id), text: x.name, selected: x.id === g.id})));
    }
    form.append(title, text, h('div', {className: 'chips'}, ...chips), h('div', {className: 'actions'},
      move, h('button', {type: 'submit', className: 'primary', text: r ? '保存' : '添加'}),
      r ? h('button', {type: 'button', text: '取消', on: {click: cancel}}) : null));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = {title: title.value, text: text.value};
      if (r) {
        body.group_id = move ? Number(move.value) : g.id;
        save(form, async () => {
          await call('PUT', `replies/${r.id}`, body);
          if (editing === r.id) editing = null;
        }, '回复已保存');
      } else {
        save(form, () => call('POST', `groups/${g.id}/replies`, body), '回复已添加');
      }
    });
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
      if (e.key === 'Escape' && r) cancel();
    });
    // cancel closes the editor and forgets what it held.
    function cancel() {
      forget(form.dataset.draft);
      if (editing === r.id) editing = null;
      render();
    }
    return withDraft(form);
  }

  function focusEditor(id) {
    const el = document.querySelector(`form.editing[data-reply-id="${id}"] textarea`);
    if (el) el.focus();
  }

  // dangerButton needs two clicks: the first arms it, the second acts.
  function dangerButton(label, confirmLabel, fn) {
    const b = h('button', {type: 'button', className: 'danger', text: label});
    b.addEventListener('click', () => {
      if (armed !== b) {
        if (armed) armed.textContent = armed.dataset.label;
        armed = b;
        b.dataset.label = label;
        b.textContent = confirmLabel;
        b.classList.add('armed');
        return;
      }
      armed = null;
      fn();
    });
    b.addEventListener('blur', () => {
      if (armed === b) { armed = null; b.textContent = label; b.classList.remove('armed'); }
    });
    return b;
  }

  function swapped(ids, i, d) {
    const out = ids.slice();
    [out[i], out[i + d]] = [out[i + d], out[i]];
    return out;
  }

  function moveGroup(i, d) {
    act(() => call('PUT', 'groups/order', {ids: swapped(data.groups.map((g) => g.id), i, d)}));
  }

  function moveReply(g, i, d) {
    act(() => call('PUT', `groups/${g.id}/order`, {ids: swapped(g.replies.map((r) => r.id), i, d)}));
  }

  document.addEventListener('DOMContentLoaded', () => {
    const addGroup = $('#add-group');
    addGroup.addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $('#add-group-name');
      save(addGroup, async () => {
        const out = await call('POST', 'groups', {name: input.value});
        selected = out.id;
        input.value = '';
      }, '分组已创建');
    });
    $('#import-file').addEventListener('change', async (e) => {
      const file = e.target.files[0];
      e.target.value = '';
      if (!file) return;
      try {
        // The file's bytes as they are: the server reads a BOM, GBK and
        // UTF-16 (file.text() would turn GBK into replacement characters).
        const out = await call('POST', 'import', await file.arrayBuffer());
        say(`导入完成：新增 ${out.added} 条回复` + (out.note ? `（${out.note}）` : ''));
      } catch (err) {
        say(err.message, 'error');
      }
      await load();
    });
    load();
  });
})();
