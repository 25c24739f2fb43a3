#!/usr/bin/env bash
# `make serve`: the dashboard over the demo's replayed programme (demo.db, made by `make demo`), on
# the demo's last day. Prints a one-time sign-in link for the secretariat and one for a project
# leader, then serves http://127.0.0.1:${PORT:-8000}/ until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f demo.db ]; then
  echo "make serve: there is no demo.db yet; run 'make demo' first" >&2
  exit 1
fi
export KFLOW_DB="sqlite:///demo.db"
export KFLOW_USER=kl-sek  # serving the store is the secretariat's
port=${PORT:-8000}
url="http://127.0.0.1:${port}"
kflow() { .venv/bin/kflow "$@"; }
printf '\n\033[1m== The dashboard: %s/ (as of 2008-10-01, the demo'"'"'s last day)\033[0m\n' "$url"
printf 'Sign in as the secretariat (kl-sek), once:\n  '
kflow token create kl-sek --link --url "$url" 2>/dev/null
printf 'Sign in as Aarhus'"'"'s project leader (anna), once:\n  '
kflow token create anna --link --url "$url" 2>/dev/null
printf '(more links: KFLOW_DB=sqlite:///demo.db KFLOW_USER=kl-sek .venv/bin/kflow token create PERSON --link --url %s)\n\n' "$url"
exec .venv/bin/kflow --now 2008-10-01 serve --no-scheduler --port "$port"
