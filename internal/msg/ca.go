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

// What a trust store could not do (certs.StoreError,
// certs.ErrStoreUnsupported); the English texts are the errors' own.
var (
	CANoCertutil       = text("certutil not found: install NSS's tools (Debian, Ubuntu: sudo apt install libnss3-tools) and run this again", "找不到 certutil：请安装 NSS 工具（Debian、Ubuntu：sudo apt install libnss3-tools），然后重新运行")
	CANeedsAdmin       = text("needs root (administrator rights): %s is writable only by root", "需要 root（管理员权限）：只有 root 能写入 %s")
	CANoDatabase       = text("no certificate database in %s", "%s 里没有证书数据库")
	CAStillUntrusted   = text("ca not trusted: installed, but the store still does not trust it", "根证书未被信任：已经安装，但证书库仍然不信任它")
	CAStillTrusted     = text("removed, but the store still trusts it (is it installed twice, or by an administrator?)", "已删除，但证书库仍然信任它（是不是装了两次，或者是管理员装的？）")
	CAStoreUnsupported = text("trust store not supported here", "kfsidebar 不支持这个系统上的这种证书库")
)

// Why the CA kept in the data directory cannot be used (certs.CAError);
// the English texts are the error's own.
var (
	CAHostsChanged = text("ca hosts changed: the CA in %s is limited to %s but the config asks for %s: move %s and %s away to make a new CA, then trust the new one",
		"%s 里的根证书只能用于 %s，但配置要求的是 %s：请把 %s 和 %s 移走，生成新的根证书，然后信任新的根证书")
	CAExpiredOn = text("ca expired: the CA in %s expired on %s: move %s and %s away to make a new CA, then trust the new one",
		"%s 里的根证书已于 %s 过期：请把 %s 和 %s 移走，生成新的根证书，然后信任新的根证书")
	CAExpiresOn = text("ca expired: the CA in %s expires on %s: move %s and %s away to make a new CA, then trust the new one",
		"%s 里的根证书将于 %s 过期：请把 %s 和 %s 移走，生成新的根证书，然后信任新的根证书")
	CANoKey = text("ca incomplete: %s exists but its key %s is missing: put the key back, or move %s away to make a new CA, then trust the new one",
		"根证书不完整：%s 还在，但它的私钥 %s 不见了：请把私钥放回去，或者把 %s 移走，生成新的根证书，然后信任新的根证书")
	CANoCert = text("ca incomplete: %s exists but its certificate %s is missing: put the certificate back, or move %s away to make a new CA, then trust the new one",
		"根证书不完整：私钥 %s 还在，但它的证书 %s 不见了：请把证书放回去，或者把 %s 移走，生成新的根证书，然后信任新的根证书")
)

// What to do by hand where kfsidebar cannot change a store
// (certs.ManualStep); commands and paths are as they are typed.
var (
	CAByHandNSS = text("install NSS's tools (sudo apt install libnss3-tools) and run: %s\nor in Chrome: Settings → Privacy and security → Security → Manage certificates → Custom → Installed by you → Trusted certificates → Import → %s",
		"安装 NSS 工具（sudo apt install libnss3-tools）后运行：%s\n或者在 Chrome 里：设置 → 隐私和安全 → 安全 → 管理证书 → 自定义 → 由您安装 → 受信任的证书 → 导入 → %s")
	CAByHandFirefox = text("in Firefox: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import… → %s, tick “Trust this CA to identify websites”, then restart Firefox",
		"在 Firefox 里：设置 → 隐私与安全 → 证书 → 查看证书… → 证书颁发机构 → 导入… → %s，勾选“信任由此证书颁发机构来标识网站”，然后重启 Firefox")
	CAByHandAnchor       = text("as root: %s\nor: %s", "以 root 身份运行：%s\n或者：%s")
	CAByHandDistribution = text("add %s to your distribution's trusted certificates as its documentation says (most desktop browsers on Linux use the NSS stores instead)",
		"按发行版文档的说明把 %s 加入系统信任的证书（Linux 上多数桌面浏览器用的是 NSS 证书库）")
	CAByHandSystem   = text("add %s to the system's trusted certificates as its documentation says", "按系统文档的说明把 %s 加入系统信任的证书")
	CAByHandKeychain = text("run: %s\nor double-click %s, add it to the “login” keychain, open it in Keychain Access and set Trust → “When using this certificate” to “Always Trust”",
		"运行：%s\n或者双击 %s，把它加入“登录”钥匙串，在“钥匙串访问”里打开它，把“信任”→“使用此证书时”设为“始终信任”")
	CAByHandKeychainAccess = text("double-click %s and trust it in Keychain Access", "双击 %s，在“钥匙串访问”里信任它")
	CAByHandWindows        = text("run: %s\nor double-click %s → Install Certificate → Current User → “Place all certificates in the following store” → Trusted Root Certification Authorities",
		"运行：%s\n或者双击 %s → 安装证书 → 当前用户 → “将所有的证书都放入下列存储” → 受信任的根证书颁发机构")
	CAByHandRemove = text("remove the certificate named “%s” from %s by hand", "名为“%s”的证书请手动从 %s 里删除")
)
