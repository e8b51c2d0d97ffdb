"""mitmproxy addon for proxybench: what kfsidebar does, written for mitmproxy.

It learns chat users from the console's JSON (every object with string
fans_openid and headimgurl, skipping failed items whose base_resp.ret is not
0), scans the page's inline MCS.cgiData bootstrap, and injects the sidebar
<script> before the page's </head>. Records are kept in memory only (kfsidebar
also writes them to SQLite). It also dials the bench upstream for the console
host, keeping SNI and Host, as kfsidebar's --dial does.

Run by proxybench; by hand:
  mitmdump -s bench/mitm_addon.py --set kf_upstream=127.0.0.1:PORT \
      --set ssl_verify_upstream_trusted_ca=upstream-ca.pem
"""

import json
import time

from mitmproxy import ctx, http

CONSOLE_HOST = "mpkf.weixin.qq.com"
SCRIPT = '<script src="/__kfsidebar/sidebar.js?v=proxybench&amp;t=proxybench" defer></script>'
TARGETS = {
    ("/cgi-bin/kfunaccepted", "kfbatchcreatesession"): "auto",
    ("/cgi-bin/kftransfer", "gettransferinfo"): "transfer",
}
NOT_JSON = ("image/", "audio/", "video/", "font/", "text/css", "application/wasm", "application/pdf")


class KfScan:
    def __init__(self):
        self.users = {}
        self.responses = 0
        self.pages = 0

    def load(self, loader):
        loader.add_option("kf_upstream", str, "", "HOST:PORT dialed for the console host (SNI and Host stay)")

    def server_connect(self, data):
        if ctx.options.kf_upstream and data.server.address and data.server.address[0] == CONSOLE_HOST:
            host, port = ctx.options.kf_upstream.rsplit(":", 1)
            data.server.address = (host, int(port))

    def request(self, flow: http.HTTPFlow):
        if flow.request.pretty_host == "proxybench.stats":
            body = json.dumps({"chats": len(self.users), "scanned": self.responses, "pages": self.pages})
            flow.response = http.Response.make(200, body, {"Content-Type": "application/json"})

    def response(self, flow: http.HTTPFlow):
        req, resp = flow.request, flow.response
        if req.pretty_host != CONSOLE_HOST or resp.status_code != 200 or req.method == "HEAD":
            return
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        dest = req.headers.get("sec-fetch-dest", "")
        if req.method == "GET" and dest in ("", "document") and ctype in ("", "text/html", "application/xhtml+xml"):
            self.page(flow)
            return
        if ctype.startswith(NOT_JSON) or "javascript" in ctype:
            return
        try:
            doc = json.loads(resp.get_content(strict=False) or b"")
        except ValueError:
            return
        path = req.path.split("?")[0].rstrip("/")
        source = "manual" if path.startswith("/cgi-bin/kfsessionmgr") else TARGETS.get((path, req.query.get("action", "")), "other")
        self.responses += 1
        self.walk(doc, source)

    def page(self, flow):
        text = flow.response.get_text(strict=False)
        if text is None:
            return
        at = text.find("MCS.cgiData")
        if at >= 0:
            start = text.find("{", at)
            try:
                doc, _ = json.JSONDecoder().raw_decode(text, start)
                self.walk(doc, "page")
            except ValueError:
                pass
        i = text.find("</head>")
        if i >= 0:
            flow.response.text = text[:i] + SCRIPT + text[i:]
            flow.response.headers["cache-control"] = "no-store"
            self.pages += 1

    def walk(self, doc, source):
        now = time.time()
        stack = [doc]
        while stack:
            v = stack.pop()
            if isinstance(v, list):
                stack.extend(v)
            elif isinstance(v, dict):
                base = v.get("base_resp")
                if isinstance(base, dict) and base.get("ret", 0) != 0:
                    continue
                openid = v.get("fans_openid")
                if isinstance(openid, str) and openid:
                    self.users[openid] = {
                        "openid": openid,
                        "nickname": v.get("nickname", ""),
                        "headimgurl": v.get("headimgurl", ""),
                        "fans_uin": str(v.get("fans_uin", "")),
                        "source": source,
                        "seen_at": now,
                    }
                stack.extend(v.values())


addons = [KfScan()]
