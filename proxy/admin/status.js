// The status page's checks, run by the browser itself: only the browser
// knows whether it uses kfsidebar's PAC and trusts kfsidebar's CA.
//
// 1. PAC: the probe host exists only in kfsidebar's PAC file (it is
//    .invalid, so it never resolves otherwise); kfsidebar answers it.
// 2. CA: with the PAC in use, a request to https://<console>/__kfsidebar/
//    goes to kfsidebar, which answers it itself with a certificate from
//    its CA. Any answer at all (even a 404, hence no-cors) means the
//    browser accepted that certificate; a TLS failure rejects the fetch.
(() => {
	'use strict';
	const data = document.body.dataset;
	const show = (id, state, text) => {
		const el = document.getElementById(id);
		if (el) {
			el.dataset.state = state;
			el.textContent = text;
		}
	};
	const within = (ms) => {
		const c = new AbortController();
		setTimeout(() => c.abort(), ms);
		return c.signal;
	};

	async function usesPAC() {
		try {
			const r = await fetch('http://' + data.probeHost + '/', {cache: 'no-store', signal: within(5000)});
			const j = await r.json();
			return j && j.kfsidebar === true;
		} catch (e) {
			return false;
		}
	}

	async function trustsCA() {
		try {
			await fetch('https://' + data.consoleHost + '/__kfsidebar/ping', {mode: 'no-cors', cache: 'no-store', signal: within(8000)});
			return true;
		} catch (e) {
			return false;
		}
	}

	async function run() {
		if (!await usesPAC()) {
			show('pac-state', 'bad', '✘ 这个浏览器没有经过 kfsidebar — this browser does not use kfsidebar\'s PAC: see Setup below, or run "kfsidebar proxy on"');
			show('ca-state', 'unknown', '? 先设置自动代理才能检查 — set up the PAC first, then reload this page');
			return;
		}
		show('pac-state', 'ok', '✔ 这个浏览器经过 kfsidebar 访问客服页面 — this browser sends the console through kfsidebar');
		if (await trustsCA()) {
			show('ca-state', 'ok', '✔ 这个浏览器信任 kfsidebar 的根证书 — this browser trusts kfsidebar\'s CA');
		} else {
			show('ca-state', 'bad', '✘ 这个浏览器不信任 kfsidebar 的根证书 — this browser does not trust kfsidebar\'s CA: run "kfsidebar ca install", then restart the browser');
		}
	}
	run();
})();
