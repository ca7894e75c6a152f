#!/usr/bin/env bash
# Boot script of an EC2 bee (Amazon Linux 2023), run once as user data. `bees up` sends it with a
# header of values in front (scripts/bees/user-data.ts): the bee's lifetime, the Node.js major
# version every deployed runtime uses, the npm packages the agent needs and the agent itself.
#
# First the bee schedules its own end (it is launched with shutdown behaviour "terminate"), so it
# never outlives its lifetime even when `bees down` is never run or this script fails half-way;
# then it installs Node.js and the agent, and marks itself ready for `bees attack`.
set -euo pipefail

MAX_LIFETIME_MINUTES="${MAX_LIFETIME_MINUTES:?bees up sets the lifetime in minutes}"
NODE_MAJOR="${NODE_MAJOR:?bees up sets the Node.js major version (deployNodeMajor in app/contracts.ts)}"
AGENT_PACKAGES="${AGENT_PACKAGES:?bees up lists the npm packages the agent needs}"
AGENT_GZIP_BASE64="${AGENT_GZIP_BASE64:?bees up sends the agent bundle}"
BEES_HOME="${BEES_HOME:-/opt/bees}"

# Whatever happens below, the bee ends itself: shutdown terminates it (InstanceInitiatedShutdownBehavior).
shutdown -h "+${MAX_LIFETIME_MINUTES}" "bees: maximum lifetime reached"

on_error() {
  local line="$1"
  echo "bees bootstrap failed at line ${line}; terminating this bee" >&2
  shutdown -h now "bees: bootstrap failed"
}
trap 'on_error "$LINENO"' ERR

install_node() {
  local attempt
  for attempt in 1 2 3; do
    if dnf install -y "nodejs${NODE_MAJOR}" "nodejs${NODE_MAJOR}-npm"; then return 0; fi
    echo "dnf install failed (attempt ${attempt}); retrying" >&2
    sleep $((attempt * 5))
  done
  return 1
}

install_agent() {
  local node_bin npm_bin packages
  # Amazon Linux names the versioned binaries node-22 and npm-22.
  node_bin="$(command -v "node-${NODE_MAJOR}" || command -v node)"
  npm_bin="$(command -v "npm-${NODE_MAJOR}" || command -v npm)"
  read -r -a packages <<<"${AGENT_PACKAGES}"
  mkdir -p "${BEES_HOME}"
  cd "${BEES_HOME}"
  "${npm_bin}" init -y >/dev/null
  "${npm_bin}" install --omit=dev --no-audit --no-fund "${packages[@]}"
  base64 -d <<<"${AGENT_GZIP_BASE64}" | gunzip >agent.js
  # SSM Run Command starts the agent through this wrapper, whatever the node binary is called.
  printf '#!/usr/bin/env bash\nexec %q %q "$@"\n' "${node_bin}" "${BEES_HOME}/agent.js" >agent
  chmod +x agent
}

install_node
install_agent
touch "${BEES_HOME}/ready"
echo "bee ready"
