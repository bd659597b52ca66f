#!/bin/sh
# link-sounds.sh — make Asterisk find the prompts rendered by `bankcti prompts build`.
#
#   config/asterisk/link-sounds.sh [BANKCTI_SOUNDS [ASTERISK_SOUNDS]]
#
# BANKCTI_SOUNDS  what `bankcti prompts build` wrote (default: its default,
#                 ${XDG_DATA_HOME:-$HOME/.local/share}/bankcti/sounds)
# ASTERISK_SOUNDS Asterisk's sounds directory, <astdatadir>/sounds (default:
#                 /usr/share/asterisk/sounds if it exists — Debian packages —
#                 else /var/lib/asterisk/sounds — a source install)
#
# For every language directory (en, zh…) and every entry in it (bankcti/,
# and digits/ for Mandarin, which Asterisk does not ship) a symbolic link
# ASTERISK_SOUNDS/<language>/<entry> -> BANKCTI_SOUNDS/<language>/<entry> is
# made, so `STREAM FILE bankcti/welcome` plays sounds/zh/bankcti/welcome.wav
# once the IVR has set CHANNEL(language)=zh.  Rebuilding the prompts needs
# no new links.  An existing real file or directory is never replaced.
# The Asterisk user must be able to read BANKCTI_SOUNDS.
set -eu

src=${1:-${XDG_DATA_HOME:-$HOME/.local/share}/bankcti/sounds}
if [ $# -ge 2 ]; then
  dst=$2
elif [ -d /usr/share/asterisk/sounds ]; then
  dst=/usr/share/asterisk/sounds
else
  dst=/var/lib/asterisk/sounds
fi

[ -d "$src" ] || { echo "link-sounds: no prompts in $src (run: bankcti prompts build)" >&2; exit 1; }
src=$(cd "$src" && pwd)
status=0
for lang_dir in "$src"/*/; do
  [ -d "$lang_dir" ] || continue
  lang=$(basename "$lang_dir")
  mkdir -p "$dst/$lang"
  for entry in "$lang_dir"*; do
    [ -e "$entry" ] || continue
    name=$(basename "$entry")
    link="$dst/$lang/$name"
    if [ -e "$link" ] && [ ! -L "$link" ]; then
      echo "link-sounds: $link exists and is not a link: left alone" >&2
      status=1
      continue
    fi
    ln -sfn "$entry" "$link"
    echo "$link -> $entry"
  done
done
exit $status
