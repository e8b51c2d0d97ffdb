package main

import (
	"strings"
	"testing"

	"github.com/kfsidebar/kfsidebar/internal/msg"
)

// TestSetupCommandsSpeakChinese: on a Chinese system (msg.Detect; here
// KFSIDEBAR_LANG=zh) ca, proxy, doctor and run's banner speak Chinese;
// the other tests read them in English.
func TestSetupCommandsSpeakChinese(t *testing.T) {
	t.Setenv(msg.EnvLang, "zh")
	testHome(t)
	const mode = "org.gnome.system.proxy mode"
	fakeGSettings(t, map[string]string{mode: "'none'"})
	dir := t.TempDir()
	listen := freeAddr(t)
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"ca", "status", "--data-dir", dir}, []string{"里没有 kfsidebar 的根证书"}},
		{[]string{"ca", "install", "--data-dir", dir, "--store", "nss"}, []string{"kfsidebar 根证书", "已安装并信任", "完成。请重启浏览器"}},
		{[]string{"ca", "status", "--data-dir", dir, "--store", "nss"}, []string{"已信任"}},
		{[]string{"proxy", "on", "--data-dir", dir, "--listen", listen}, []string{"自动代理配置 http://" + listen + "/proxy.pac（原来是：没有代理）", "撤销：kfsidebar proxy off"}},
		{[]string{"proxy", "status", "--data-dir", dir, "--listen", listen}, []string{"（kfsidebar）"}},
		{[]string{"proxy", "off", "--data-dir", dir, "--listen", listen}, []string{"已恢复：没有代理"}},
		{[]string{"ca", "uninstall", "--data-dir", dir, "--store", "nss"}, []string{"已删除"}},
	}
	for _, st := range steps {
		out, _, err := runCLI(t, st.args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(st.args, " "), err, out)
		}
		for _, w := range st.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s says, without %q:\n%s", strings.Join(st.args, " "), w, out)
			}
		}
	}
	empty := t.TempDir() + "/none"
	out, _, err := runCLI(t, "doctor", "--data-dir", empty, "--listen", freeAddr(t), "--console-host", "console.kfsidebar.invalid")
	for _, w := range []string{"✘ 数据目录：" + empty + " 不存在", "✘ 代理：", "解决：从菜单启动 kfsidebar（托盘）", "✘ 客服工具 console.kfsidebar.invalid：离线"} {
		if !strings.Contains(out, w) {
			t.Errorf("doctor says, without %q:\n%s", w, out)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "doctor：发现") {
		t.Errorf("doctor's error: %v", err)
	}
	k := startRun(t, dir)
	for _, w := range []string{"正在 " + k.addr + " 监听", "状态页：", "使用前，每台电脑做一次", "按 Ctrl+C 停止"} {
		if !strings.Contains(k.stdout, w) {
			t.Errorf("run's banner, without %q:\n%s", w, k.stdout)
		}
	}
}
