#!/bin/sh
# Installs the two proxies the benchmark compares kfsidebar with:
# mitmproxy from Debian's package and whistle from npm; and for pushbench,
# node-webot's wechat from npm. whistle goes into a
# cache directory outside the repository (no node_modules in the tree);
# proxybench finds it there, or wherever -whistle points.
set -eu

tools="${KFSIDEBAR_BENCH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kfsidebar-bench}"

if ! command -v mitmdump >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends mitmproxy
fi

if ! command -v node >/dev/null 2>&1; then
	echo "setup: node and npm are needed for whistle (apt-get install nodejs npm)" >&2
	exit 1
fi
if [ ! -x "$tools/node_modules/.bin/w2" ]; then
	mkdir -p "$tools"
	npm install --prefix "$tools" --no-audit --no-fund whistle
fi
# pushbench's comparison: node-webot's wechat middleware.
if [ ! -f "$tools/node_modules/wechat/package.json" ]; then
	mkdir -p "$tools"
	npm install --prefix "$tools" --no-audit --no-fund wechat@2
fi

echo "mitmdump: $(command -v mitmdump) ($(mitmdump --version 2>/dev/null | head -n 1))"
echo "whistle:  $tools/node_modules/.bin/w2 ($(WHISTLE_PATH="$tools/whistle-data" "$tools/node_modules/.bin/w2" --version 2>/dev/null | head -n 1))"
