package msg

// kfsidebar run's banner: what it serves and what to do next.
var (
	RunListening = text("kfsidebar %s listening on %s\n", "kfsidebar %s 正在 %s 监听\n")
	RunExposed   = text("\nWARNING: --listen %s accepts connections from other machines.\nAnyone who can reach it can use this proxy. Use 127.0.0.1 unless you mean it.\n\n",
		"\n警告：--listen %s 接受来自其他机器的连接。\n能连到它的任何人都能使用这个代理。除非确实需要，请使用 127.0.0.1。\n\n")
	RunPAC        = text("  PAC file:     http://%s/proxy.pac\n", "  自动代理脚本：http://%s/proxy.pac\n")
	RunStatusPage = text("  status page:  http://%s/\n", "  状态页：      http://%s/\n")
	RunCA         = text("  root CA:      %s", "  根证书：      %s")
	RunCANew      = text("  (new: made just now on this workstation)", "（新的：刚刚在这台电脑上生成）")
	RunDecrypting = text("\n  decrypting:   %s (everything else is tunnelled, never decrypted)\n", "\n  解密：        %s（其他网站只转发，从不解密）\n")
	RunUpstream   = text("  upstream:     %s (console and tunnels go out through this proxy)\n", "  上游代理：    %s（客服工具和其他网站都经过这个代理）\n")
	RunLog        = text("  log file:     %s\n", "  日志文件：    %s\n")
	RunTrustCA    = text("trust the root CA (it can only vouch for %s)", "信任根证书（它只能用于 %s）")
	RunPointAt    = text("point the system at http://%s/proxy.pac", "让系统使用 http://%s/proxy.pac")
	RunOrOpen     = text("   or instead of 1 and 2: %s", "   或者代替 1 和 2：%s")
	RunOwnWindow  = text("a browser window of its own; changes nothing", "打开一个单独的浏览器窗口；不修改任何设置")
	RunNext       = text("\nTo use it, once per workstation (in another terminal):\n", "\n使用前，每台电脑做一次（在另一个命令窗口里）：\n")
	RunNextShort  = text("  1. kfsidebar ca install     %s\n  2. kfsidebar proxy on       %s\n     or instead of 1 and 2:  kfsidebar open   (%s)\n",
		"  1. kfsidebar ca install     %s\n  2. kfsidebar proxy on       %s\n     或者代替 1 和 2：       kfsidebar open   （%s）\n")
	RunOpenConsole = text("  3. Open https://%s and click a chat.\n  %s checks every step; the status page shows them too.\nPress Ctrl+C to stop.\n",
		"  3. 打开 https://%s，点一个会话。\n  %s 检查每一步；状态页也会显示。\n按 Ctrl+C 停止。\n")
)
