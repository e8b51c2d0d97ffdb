// node-webot's `wechat` middleware (npm) doing what pushbench asks of every
// gateway: verify, decrypt in safe mode, and answer a user's message with
// transfer_customer_service (XML only). No dedupe, no outbox.
// Usage: NODE_PATH=<dir with node_modules/wechat> node server.js READY_FILE
// with the account in PUSHBENCH_TOKEN, PUSHBENCH_AES_KEY, PUSHBENCH_APPID.
'use strict';
const http = require('http');
const url = require('url');
const fs = require('fs');
const wechat = require('wechat');

const mw = wechat({
  token: process.env.PUSHBENCH_TOKEN,
  appid: process.env.PUSHBENCH_APPID,
  encodingAESKey: process.env.PUSHBENCH_AES_KEY,
  checkSignature: true,
}, function (req, res) {
  if (req.weixin.MsgType === 'event') {
    res.reply('');
    return;
  }
  res.transfer2CustomerService();
});

const server = http.createServer(function (req, res) {
  const u = url.parse(req.url, true);
  if (u.pathname !== '/wechat') {
    res.writeHead(404);
    res.end();
    return;
  }
  req.query = u.query;
  mw(req, res, function (err) {
    res.writeHead(err ? 400 : 404);
    res.end();
  });
});
server.listen(0, '127.0.0.1', function () {
  const ready = process.argv[2];
  fs.writeFileSync(ready + '.tmp', '127.0.0.1:' + server.address().port);
  fs.renameSync(ready + '.tmp', ready);
});
