#!/usr/bin/env bash
# Sourced by the bash stand-ins: appends "command<TAB>arg<TAB>arg..." to $STANDIN_LOG.
record_call() {
  { printf '%s' "$(basename "$0")"; printf '\t%s' "$@"; printf '\n'; } >>"$STANDIN_LOG"
}
