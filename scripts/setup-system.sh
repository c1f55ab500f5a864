#!/usr/bin/env bash
# Installs the system packages journeymine's set-up needs on Debian/Ubuntu, only those missing:
#   always     python3-venv (Python's venv and ensurepip) and graphviz (`dot`);
#   --browser  chromium, which the report's browser tests drive headless through playwright,
#              and libatomic1, which playwright's bundled node driver links against
#              (`ldd .venv/lib/python3*/site-packages/playwright/driver/node`; libstdc++6 and
#              libgcc-s1, its other libraries, come with every Debian);
#   --java     a Java runtime (default-jre-headless: 17 on bookworm, 21 on trixie) for pyspark;
#   --postgres PostgreSQL's server (postgresql: 15 on bookworm, 17 on trixie), which read_sql's
#              tests and bench_sources start as a throwaway cluster of their own (initdb and
#              pg_ctl from /usr/lib/postgresql/<version>/bin, as `nobody` when run as root
#              through runuser, part of util-linux); the cluster the package makes is not used.
# Each need is probed by what is used (a command, a library, a Python module), so a machine
# that has it some other way is left alone. Runs as root (or through sudo).
set -euo pipefail

need=()
has_lib() { "$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null | grep -q "^[[:space:]]*$1 "; }

command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
for flag in "$@"; do
  case "$flag" in
    --browser)
      command -v chromium >/dev/null 2>&1 || need+=(chromium)
      has_lib libatomic.so.1 || need+=(libatomic1)
      ;;
    --java) command -v java >/dev/null 2>&1 || need+=(default-jre-headless) ;;
    --postgres)
      command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
        || need+=(postgresql)
      ;;
    *) echo "setup-system.sh: unknown option $flag" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "journeymine set-up: please install ${need[*]} (Debian's names) with your system's package manager." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "journeymine set-up: installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
