#!/usr/bin/env bash
# Follows the guest's results file (RUN/results.log) while QEMU (PID) runs
# and prints, in tests mode, one PASS/FAIL line per test (with the test's
# output when it failed), in script mode the script's output. Writes the
# counts to RUN/counts ("passed failed") and the script's status to
# RUN/script-rc.
mode=$1; run=$2; qemu=$3
passed=0; failed=0; name=""; out=""

# Lines of the results file as they are written, until QEMU has exited and
# everything is read. A line read at end of file may be incomplete: keep
# it and prepend it to the rest when that arrives.
exec 4<"$run/results.log"
partial=""
next_line() {
  local chunk
  while :; do
    if IFS= read -r chunk <&4; then
      line=$partial$chunk; partial=""; return 0
    fi
    partial+=$chunk
    if ! kill -0 "$qemu" 2>/dev/null; then
      # QEMU is gone: one last read for anything written just before.
      if IFS= read -r chunk <&4; then line=$partial$chunk; partial=""; return 0; fi
      partial+=$chunk
      [ -n "$partial" ] && { line=$partial; partial=""; return 0; }
      return 1
    fi
    sleep 0.5
  done
}

while next_line; do
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
    "@@INFO "*) printf '%s\n' "${line#@@INFO }" ;;
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
