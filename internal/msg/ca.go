package msg

// kfsidebar ca install|uninstall|status.
var (
	CAHeader = text("kfsidebar root CA %s\n  %q, limited to %s, valid until %s\n  SHA-256 %s\n\n",
		"kfsidebar 根证书 %s\n  %q，只能用于 %s，有效期至 %s\n  SHA-256 %s\n\n")
	CANone = text("There is no kfsidebar CA in %s, so no store can trust it: nothing to do.\n",
		"%s 里没有 kfsidebar 的根证书，所以没有证书库会信任它：无需操作。\n")
	CANoStore       = text("No trust store found for this user.\n", "没有找到当前用户的证书库。\n")
	CAInstallDone   = text("\nDone. Restart the browser (close every window) so that it sees the change.\n", "\n完成。请重启浏览器（关闭所有窗口），让它看到这个变化。\n")
	CAUninstallDone = text("\nDone. Restart the browser so that it forgets the CA.\n", "\n完成。请重启浏览器，让它忘记这个根证书。\n")
	CAFailed        = text("ca %s: %d trust store(s) not done; the step to take by hand is printed above", "ca %s：%d 个证书库没有完成；需要手动操作的步骤见上文")
	CAStoreLine     = text("%s %s: %s\n", "%s %s：%s\n")
	CAByHand        = text("    by hand: %s\n", "    手动操作：%s\n")
	CASkipped       = text("skipped: %v", "已跳过：%v")
	CAInstalled     = text("installed and trusted", "已安装并信任")
	CAAlready       = text("already trusted, left alone", "已经信任，未改动")
	CARemoved       = text("removed", "已删除")
	CANotThere      = text("not there, nothing to remove", "不在其中，无需删除")
	CATrusted       = text("trusted", "已信任")
	CANotTrusted    = text("not trusted (kfsidebar ca install)", "未信任（运行 kfsidebar ca install）")
)
