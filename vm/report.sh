#!/usr/bin/env bash
# Reads the guest's results stream (stdin) as it arrives and prints, in
# tests mode, one PASS/FAIL line per test (with the test's output when it
# failed), in script mode the script's output. Writes the counts to
# RUN/counts ("passed failed") and the script's status to RUN/script-rc.
mode=$1; run=$2
passed=0; failed=0; name=""; out=""
while IFS= read -r line; do
  line=${line%$'\r'}   # the guest's serial port turns \n into \r\n
  case "$line" in
    "@@BEGIN "*)
      name=${line#@@BEGIN }; out=""
      [ "$mode" = script ] || printf '  .. %s\n' "$name" ;;
    "@@END "*)
      set -- ${line#@@END }
      rc=$2; secs=${3:-?}
      if [ "$mode" = script ]; then
        echo "$rc" > "$run/script-rc"
      elif [ "$rc" = 0 ]; then
        passed=$((passed + 1)); printf 'PASS %s (%ss)\n' "$name" "$secs"
      else
        failed=$((failed + 1))
        why="exit $rc"; [ "$rc" = 124 ] && why="timed out"
        printf 'FAIL %s (%s, %ss)\n%s\n' "$name" "$why" "$secs" "$out" | sed '2,$s/^/     | /'
      fi
      name="" ;;
    "@@DONE") touch "$run/done" ;;
    *)
      if [ "$mode" = script ]; then printf '%s\n' "$line"
      elif [ -n "$name" ]; then out+="$line"$'\n'; fi ;;
  esac
done
# A test that began but never ended: the guest died or hung inside it.
if [ -n "$name" ] && [ "$mode" != script ]; then
  failed=$((failed + 1)); printf 'FAIL %s (guest stopped inside the test)\n%s\n' "$name" "$out"
fi
echo "$passed $failed" > "$run/counts"
