#!/usr/bin/env bash
# Installs the system packages journeymine needs on Debian/Ubuntu, only where missing:
# Python's venv module and Graphviz's `dot`; with --browser also Debian's Chromium, which
# the test suite drives headless to check the HTML report; with --java a Java runtime
# (Debian's default JRE: 17 on bookworm, 21 on trixie), which the Spark engine's tests need.
# Runs as root (or through sudo).
set -euo pipefail
need=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv python3-pip)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv python3-pip)
for flag in "$@"; do
  case "$flag" in
    --browser) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
    --java) command -v java >/dev/null 2>&1 || need+=(default-jre-headless) ;;
    *) echo "setup-system.sh: unknown option $flag" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "journeymine set-up: please install ${need[*]} with your system's package manager." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "journeymine set-up: installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
