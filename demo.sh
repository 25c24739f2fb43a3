#!/usr/bin/env bash
# The demo: a fresh SQLite store, the shipped definitions, one tender walked through its phases.
set -euo pipefail
cd "$(dirname "$0")"
export KFLOW_DB="sqlite:///demo.db"
kflow() { .venv/bin/kflow "$@"; }
rm -f demo.db demo.db-wal demo.db-shm

step() { printf '\n\033[1m$ kflow %s\033[0m\n' "$*"; kflow "$@"; }

step --user kl-sek init
step definitions load definitions/
step person add anna --name "Anna Jensen" --email anna@aarhus.dk --role project_leader --municipality Aarhus
step --user anna --now 2007-07-02 tender create --id AAR-SUND-01 --definition individual-tender \
     --title "Genoptræning efter sygehusudskrivning" --municipality 751 --area sundhed
step --user anna --now 2007-09-20 advance AAR-SUND-01 approve_scope --note "Byrådet har besluttet udbudsområdet"
step --user anna --now 2008-01-10 advance AAR-SUND-01 publish --note "Udbudsbekendtgørelse sendt"
step --now 2008-02-01 tender show AAR-SUND-01
printf '\n# a project leader may not close the bid period; the refusal says why:\n'
step --user anna --now 2008-03-04 advance AAR-SUND-01 close_bidding || true
step --user kl-sek --now 2008-03-04 advance AAR-SUND-01 close_bidding
printf '\n# the award needs the winner and the contract value:\n'
step --user anna --now 2008-04-02 advance AAR-SUND-01 decide_award || true
step --user anna --now 2008-04-02 advance AAR-SUND-01 decide_award \
     --set "winner=Falck Health Care A/S" --set contract_value=4100000
step --user anna --now 2008-09-15 tender set AAR-SUND-01 baseline_cost=4800000 bidders=4
step --user anna --now 2008-09-30 advance AAR-SUND-01 complete
step --now 2008-10-01 tender history AAR-SUND-01
