# Helpers for .ci/run (sourced; kept apart so a test can run them on their own).

# Prints the first line of a command's output (stdout and stderr). sed reads the output to its end:
# with `| head -1` the command could be killed by SIGPIPE once head had closed the pipe, and under
# `set -o pipefail` that failed the whole run before any test.
first_line() {
  "$@" 2>&1 | sed -n 1p
}
