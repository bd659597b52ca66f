#!/bin/sh
# link-sounds.sh — make Asterisk find the prompts rendered by `bankcti prompts build`.
#
#   config/asterisk/link-sounds.sh [BANKCTI_SOUNDS [ASTERISK_SOUNDS]]
#
# BANKCTI_SOUNDS  what `bankcti prompts build` wrote (default: its default,
#                 ${XDG_DATA_HOME:-$HOME/.local/share}/bankcti/sounds)
# ASTERISK_SOUNDS Asterisk's sounds directory, <astdatadir>/sounds. Given as the
#                 second argument or as the environment variable ASTERISK_SOUNDS;
#                 otherwise asked from the running Asterisk: the "Data directory"
#                 line of `asterisk -rx 'core show settings'`, plus /sounds (run
#                 this as a user allowed to use the Asterisk console, e.g. root;
#                 ASTERISK=/opt/asterisk/sbin/asterisk names the program when it
#                 is not on PATH). Packages and source installs put it in
#                 different places, so nothing is guessed: with neither, the
#                 script stops and changes nothing.
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
[ -d "$src" ] || { echo "link-sounds: no prompts in $src (run: bankcti prompts build)" >&2; exit 1; }

if [ $# -ge 2 ]; then
  dst=$2
elif [ -n "${ASTERISK_SOUNDS:-}" ]; then
  dst=$ASTERISK_SOUNDS
else
  asterisk=${ASTERISK:-asterisk}
  # "  Data directory:              /var/lib/asterisk" (main/asterisk.c, core show settings)
  data_dir=$("$asterisk" -rx 'core show settings' 2>/dev/null \
    | sed -n 's/^[[:space:]]*Data directory:[[:space:]]*//p' | sed 's/[[:space:]]*$//' | head -n 1) || data_dir=
  if [ -z "$data_dir" ]; then
    echo "link-sounds: cannot ask Asterisk for its sounds directory ('$asterisk -rx \"core show settings\"'" \
      "gave no 'Data directory': is Asterisk running, and may this user use its console?)." >&2
    echo "link-sounds: give it instead: $0 $src <astdatadir>/sounds  (or ASTERISK_SOUNDS=<dir>)" >&2
    exit 2
  fi
  dst=$data_dir/sounds
fi
[ -d "$dst" ] || { echo "link-sounds: $dst is not a directory (Asterisk's sounds directory?)" >&2; exit 2; }
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
