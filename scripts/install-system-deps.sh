#!/usr/bin/env sh
# Debian packages the tests and fixtures use: espeak-ng (speech), sox (audio tools),
# speex (speexenc/speexdec for the speex stream format), chromium (the real-browser tests of
# the notebooks and the report), fonts-wqy-microhei (CJK glyphs in plots). Installs them when run as root
# with apt-get available (CI); otherwise says what is missing, and the tests that need a
# missing tool skip with that reason.
set -eu
PKGS="espeak-ng sox speex chromium fonts-wqy-microhei"
missing=""
command -v espeak-ng >/dev/null 2>&1 || missing="$missing espeak-ng"
command -v sox >/dev/null 2>&1 || missing="$missing sox"
command -v speexenc >/dev/null 2>&1 || missing="$missing speex"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$missing fonts-wqy-microhei"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
else
  echo "note: missing Debian packages:$missing (install with: sudo apt-get install $PKGS);" \
       "tests that need them will be skipped" >&2
fi
