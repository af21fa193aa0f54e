# Helpers for in-guest tests (sourced; tests run under `sh -e`).
# Available in the guest as /fluffle/tests-lib.sh.

# fail MESSAGE: stop the test with a reason.
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_eq WHAT GOT WANT
expect_eq() {
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_fail CMD...: the command must fail.
expect_fail() {
  if "$@"; then fail "expected failure: $*"; fi
}
