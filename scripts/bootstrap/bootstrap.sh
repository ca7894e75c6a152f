#!/usr/bin/env bash
# Stage two of a web instance's boot; stage one is the user data in infra/03-web.yaml, which
# writes bootstrap.env and fetches this directory from the release in S3.
#
# Installs Node.js 22 LTS, fetches the release artifact and verifies its SHA-256, writes the
# app's environment file, installs and starts the systemd unit, waits for /health, then sends
# cfn-signal success. Any failure sends the failure signal from the ERR trap at once, so
# CloudFormation rolls back instead of waiting out the CreationPolicy timeout.
set -Eeuo pipefail

# Defaults. CLOUDWIKI_ROOT prefixes every path this script writes: empty on EC2, a scratch
# directory in test/scripts/bootstrap.test.ts.
CLOUDWIKI_ROOT="${CLOUDWIKI_ROOT:-}"
BOOTSTRAP_ENV_FILE="${BOOTSTRAP_ENV_FILE:-$CLOUDWIKI_ROOT/etc/cloudwiki/bootstrap.env}"
IMDS_ENDPOINT="${IMDS_ENDPOINT:-http://169.254.169.254}"
NODE_MAJOR="${NODE_MAJOR:-22}"
RDS_CA_BUNDLE_URL="${RDS_CA_BUNDLE_URL:-https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem}"
HEALTH_TIMEOUT_SECONDS="${HEALTH_TIMEOUT_SECONDS:-300}"
LOG_LEVEL="${LOG_LEVEL:-info}"
DRAIN_TIMEOUT_MS="${DRAIN_TIMEOUT_MS:-15000}"

# Paths as the instance sees them (the unit file names these); writes add CLOUDWIKI_ROOT.
readonly install_dir=/opt/cloudwiki
readonly config_dir=/etc/cloudwiki
readonly env_file=$config_dir/cloudwiki.env
readonly rds_ca_file=$config_dir/rds-ca.pem
readonly unit_name=cloudwiki.service
readonly unit_file=/etc/systemd/system/$unit_name
readonly node_bin=/usr/bin/node-$NODE_MAJOR

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bootstrap/lib.sh
source "$script_dir/lib.sh"

export PATH="/opt/aws/bin:$PATH"
region="${AWS_REGION:-}"
signal_sent=false
failure_reason=''

# send_signal EXIT_CODE REASON: tells CloudFormation how this instance's boot went, once.
send_signal() {
  local exit_code=$1 reason=$2
  if [[ $signal_sent == true ]]; then
    return 0
  fi
  signal_sent=true
  cfn-signal --exit-code "$exit_code" --stack "${STACK_NAME:-unknown}" --resource "${SIGNAL_RESOURCE:-WebAutoScalingGroup}" \
    ${region:+--region "$region"} --reason "$reason" || log "cfn-signal itself failed"
}

on_error() {
  local line=$1
  # A failure inside $(...) also fails the command around it: report that one, once.
  if ((BASH_SUBSHELL > 0)); then
    return 0
  fi
  log "failed at line $line${failure_reason:+: $failure_reason}"
  send_signal 1 "bootstrap failed at line $line${failure_reason:+: $failure_reason}"
}
trap 'on_error $LINENO' ERR

# fail MESSAGE: records why, then returns non-zero so the ERR trap reports and signals.
fail() {
  failure_reason=$*
  return 1
}

read_bootstrap_env() {
  [[ -r $BOOTSTRAP_ENV_FILE ]] || fail "cannot read $BOOTSTRAP_ENV_FILE (written by the user data)"
  # shellcheck source=/dev/null
  source "$BOOTSTRAP_ENV_FILE"
  local name
  for name in STACK_NAME SIGNAL_RESOURCE ARTIFACT_BUCKET ARTIFACT_KEY ARTIFACT_SHA256 APP_PORT \
    DATABASE_WRITER_HOST DATABASE_READER_HOST DATABASE_PORT DATABASE_NAME DATABASE_USERNAME \
    DATABASE_SECRET_ARN SESSION_TABLE SESSION_SECRET_ARN ASSETS_BUCKET UPLOADS_BUCKET TRUST_PROXY; do
    [[ -n ${!name:-} ]] || fail "$name is missing from $BOOTSTRAP_ENV_FILE"
  done
}

read_instance_identity() {
  local token
  token=$(retry 5 imds_token) || fail "no IMDSv2 token from $IMDS_ENDPOINT"
  region=$(retry 3 imds_get "$token" placement/region)
  instance_id=$(retry 3 imds_get "$token" instance-id)
  availability_zone=$(retry 3 imds_get "$token" placement/availability-zone)
  log "instance $instance_id in $availability_zone ($region)"
}

install_node() {
  if [[ ! -x $CLOUDWIKI_ROOT$node_bin ]]; then
    # Amazon Linux 2023 ships each Node.js major as its own package, installed as node-<major>.
    retry 3 dnf install -y "nodejs$NODE_MAJOR"
  fi
  [[ -x $CLOUDWIKI_ROOT$node_bin ]] || fail "nodejs$NODE_MAJOR installed no $node_bin"
  log "node $("$CLOUDWIKI_ROOT$node_bin" --version)"
}

# Installs the artifact into releases/<sha256>/ and points current/ at it.
install_release() {
  local download actual release_dir
  download=$(mktemp -d)
  retry 3 aws s3 cp --only-show-errors --region "$region" \
    "s3://$ARTIFACT_BUCKET/$ARTIFACT_KEY" "$download/cloudwiki.tar.gz"
  actual=$(sha256sum "$download/cloudwiki.tar.gz" | cut -d ' ' -f 1)
  if [[ $actual != "$ARTIFACT_SHA256" ]]; then
    fail "checksum mismatch for s3://$ARTIFACT_BUCKET/$ARTIFACT_KEY: expected $ARTIFACT_SHA256, got $actual"
  fi
  release_dir=$CLOUDWIKI_ROOT$install_dir/releases/$ARTIFACT_SHA256
  rm -rf "$release_dir"
  install -d -m 0755 "$release_dir"
  tar -xzf "$download/cloudwiki.tar.gz" -C "$release_dir" --no-same-owner
  # Relative, so the link resolves the same under CLOUDWIKI_ROOT as on the instance.
  ln -sfn "releases/$ARTIFACT_SHA256" "$CLOUDWIKI_ROOT$install_dir/current"
  rm -rf "$download"
  log "installed release $ARTIFACT_KEY ($ARTIFACT_SHA256)"
}

# RDS presents certificates from its own CA; node verifies them with this bundle
# (NODE_EXTRA_CA_CERTS in the unit), so DATABASE_URL can demand sslmode=verify-full.
install_rds_ca_bundle() {
  retry 3 curl --fail --silent --show-error --max-time 20 --output "$CLOUDWIKI_ROOT$rds_ca_file" "$RDS_CA_BUNDLE_URL"
}

secret_value() {
  aws secretsmanager get-secret-value --region "$region" --secret-id "$1" --query SecretString --output text
}

# The app's environment, in exactly the names app/config.ts reads (a test keeps them in step).
# The database password is not here: the app reads the RDS-managed secret (DATABASE_SECRET_ARN)
# because RDS rotates it.
write_env_file() {
  local session_secret database_options='sslmode=verify-full'
  session_secret=$(retry 3 secret_value "$SESSION_SECRET_ARN")
  (
    umask 077
    {
      echo "PORT=$APP_PORT"
      echo "DATABASE_URL=postgres://$DATABASE_USERNAME@$DATABASE_WRITER_HOST:$DATABASE_PORT/$DATABASE_NAME?$database_options"
      echo "DATABASE_READ_URL=postgres://$DATABASE_USERNAME@$DATABASE_READER_HOST:$DATABASE_PORT/$DATABASE_NAME?$database_options"
      echo "DATABASE_SECRET_ARN=$DATABASE_SECRET_ARN"
      echo "SESSION_STORE=dynamodb"
      echo "SESSION_TABLE=$SESSION_TABLE"
      echo "SESSION_SECRET=$session_secret"
      echo "AWS_REGION=$region"
      echo "ASSETS_BUCKET=$ASSETS_BUCKET"
      echo "UPLOADS_BUCKET=$UPLOADS_BUCKET"
      if [[ -n ${ASSET_BASE_URL:-} ]]; then
        echo "ASSET_BASE_URL=$ASSET_BASE_URL"
      fi
      echo "TRUST_PROXY=$TRUST_PROXY"
      echo "AWS_EC2_METADATA_SERVICE_ENDPOINT=$IMDS_ENDPOINT"
      echo "LOG_LEVEL=$LOG_LEVEL"
      echo "DRAIN_TIMEOUT_MS=$DRAIN_TIMEOUT_MS"
    } >"$CLOUDWIKI_ROOT$env_file"
  )
  # systemd reads the file as root before dropping privileges, so root-only is enough.
  if grep -q '[[:space:]"'"'"'\\]' <(cut -d = -f 2- "$CLOUDWIKI_ROOT$env_file"); then
    fail "a value in $env_file contains whitespace, a quote or a backslash"
  fi
}

install_unit() {
  cat >"$CLOUDWIKI_ROOT$unit_file" <<UNIT
[Unit]
Description=cloudwiki web tier
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
# A transient unprivileged user that owns nothing: the app writes no local state.
DynamicUser=yes
WorkingDirectory=$install_dir/current
EnvironmentFile=$env_file
Environment=NODE_ENV=production
Environment=NODE_EXTRA_CA_CERTS=$rds_ca_file
ExecStart=$node_bin $install_dir/current/dist/app/server.js
Restart=on-failure
RestartSec=2
# SIGTERM reaches node alone; it drains (/health answers 503, in-flight requests finish) within
# DRAIN_TIMEOUT_MS, well inside the stop timeout.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=30
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now "$unit_name"
}

wait_for_health() {
  local url="http://127.0.0.1:$APP_PORT/health"
  if ! wait_for_http "$url" "$HEALTH_TIMEOUT_SECONDS"; then
    fail "$url did not answer within ${HEALTH_TIMEOUT_SECONDS}s (see journalctl -u $unit_name)"
  fi
  log "$url answers"
}

main() {
  read_bootstrap_env
  install -d -m 0755 "$CLOUDWIKI_ROOT$config_dir" "$CLOUDWIKI_ROOT$install_dir/releases" "$CLOUDWIKI_ROOT$(dirname "$unit_file")"
  read_instance_identity
  install_node
  install_release
  install_rds_ca_bundle
  write_env_file
  install_unit
  wait_for_health
  send_signal 0 "cloudwiki answers /health on $instance_id"
  log "done"
}

main "$@"
