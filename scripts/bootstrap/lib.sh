#!/usr/bin/env bash
# Helpers for bootstrap.sh: logging, retries, IMDSv2 and HTTP polling. Sourced, never run.

log() {
  printf '%s cloudwiki-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

# retry ATTEMPTS COMMAND...: runs COMMAND until it succeeds, waiting 1, 2, 4 ... seconds between
# attempts. Package mirrors, S3 and IMDS all have brief hiccups right after an instance boots.
retry() {
  local attempts=$1 attempt=1 delay=1
  shift
  until "$@"; do
    if ((attempt >= attempts)); then
      log "gave up after $attempts attempts: $*"
      return 1
    fi
    log "attempt $attempt of $attempts failed, retrying in ${delay}s: $*"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2))
  done
}

# IMDSv2: a session token from a PUT first (the launch template refuses plain GETs), then GETs
# that carry it.
imds_token() {
  curl --fail --silent --show-error --max-time 2 --request PUT \
    --header 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
    "$IMDS_ENDPOINT/latest/api/token"
}

imds_get() {
  local token=$1 path=$2
  curl --fail --silent --show-error --max-time 2 \
    --header "X-aws-ec2-metadata-token: $token" \
    "$IMDS_ENDPOINT/latest/meta-data/$path"
}

# wait_for_http URL SECONDS: succeeds once URL answers 2xx, fails after SECONDS.
wait_for_http() {
  local url=$1 seconds=$2 waited=0
  until curl --fail --silent --output /dev/null --max-time 2 "$url"; do
    if ((waited >= seconds)); then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}
