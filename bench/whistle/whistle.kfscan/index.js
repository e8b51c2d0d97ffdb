// whistle.kfscan: what kfsidebar's scanner does, as a whistle plugin for
// proxybench. Selected by the rule "mpkf.weixin.qq.com pipe://kfscan", its
// resRead hook sees every console response body (decoded by whistle) on its
// way to the browser, passes it on unchanged, and scans a copy: every object
// with a string fans_openid (failed items, base_resp.ret != 0, skipped), in
// JSON responses and in the page's inline MCS.cgiData bootstrap. Records are
// kept in memory; counters go to the file named by $KFSCAN_STATS, for
// proxybench to read.
'use strict';

var fs = require('fs');

var users = new Map();
var responses = 0;
var pages = 0;

function walk(doc, source) {
  var now = Date.now();
  var stack = [doc];
  while (stack.length) {
    var v = stack.pop();
    if (Array.isArray(v)) {
      for (var i = 0; i < v.length; i++) stack.push(v[i]);
    } else if (v && typeof v === 'object') {
      var base = v.base_resp;
      if (base && typeof base === 'object' && base.ret !== undefined && base.ret !== 0) {
        continue;
      }
      if (typeof v.fans_openid === 'string' && v.fans_openid) {
        users.set(v.fans_openid, {
          openid: v.fans_openid,
          nickname: v.nickname || '',
          headimgurl: v.headimgurl || '',
          fans_uin: String(v.fans_uin || ''),
          source: source,
          seenAt: now
        });
      }
      for (var k in v) stack.push(v[k]);
    }
  }
}

function source(url) {
  var u = new URL(url);
  var path = u.pathname.replace(/\/$/, '');
  var action = u.searchParams.get('action');
  if (path.indexOf('/cgi-bin/kfsessionmgr') === 0) return 'manual';
  if (path === '/cgi-bin/kfunaccepted' && action === 'kfbatchcreatesession') return 'auto';
  if (path === '/cgi-bin/kftransfer' && action === 'gettransferinfo') return 'transfer';
  return 'other';
}

// scan decides by content, not by Content-Type: a pipe hook is not told
// the response headers.
function scan(req, body) {
  var text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  var first = text.trimStart().charAt(0);
  if (first !== '{' && first !== '[') {
    var at = text.indexOf('MCS.cgiData');
    if (at < 0) return;
    var start = text.indexOf('{', at);
    var end = text.indexOf(';</script>', start);
    try {
      walk(JSON.parse(text.slice(start, end)), 'page');
      pages++;
    } catch (e) {}
    return;
  }
  var doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return;
  }
  responses++;
  walk(doc, source(req.originalReq.url));
}

var written = '';
if (process.env.KFSCAN_STATS) {
  setInterval(function () {
    var s = JSON.stringify({ chats: users.size, scanned: responses, pages: pages });
    if (s !== written) {
      written = s;
      // Write and rename, so that a reader never sees half a file.
      var tmp = process.env.KFSCAN_STATS + '.tmp';
      fs.writeFile(tmp, s, function (err) {
        if (!err) fs.rename(tmp, process.env.KFSCAN_STATS, function () {});
      });
    }
  }, 250).unref();
}

exports.resRead = function (server) {
  server.on('request', function (req, res) {
    var chunks = [];
    req.on('data', function (c) {
      chunks.push(c);
    });
    req.on('end', function () {
      if ((req.originalRes || {}).statusCode == 200) {
        try {
          scan(req, Buffer.concat(chunks));
        } catch (e) {}
      }
    });
    req.pipe(res);
  });
};
