#!/usr/bin/env bash
# The demo: replay a small pilot of the 2007–2008 programme on a fresh SQLite store.
# Project leaders act at scripted dates; the scheduler (kflow tick) closes bid periods, queues
# reminders and flags overdue steps; at each quarter's end we look at what is overdue.
set -euo pipefail
cd "$(dirname "$0")"
export KFLOW_DB="sqlite:///demo.db"
rm -f demo.db demo.db-wal demo.db-shm

kflow() { .venv/bin/kflow "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ kflow %s\n' "$*"; kflow "$@"; }
quarter_end() {  # $1 = the first day of the next quarter
  say "Scheduler and overdue list as of $1"
  run --now "$1" tick
  run --now "$1" overdue
}

say "Set up: store, definitions, the pilot programme"
run --user kl-sek init
run definitions load definitions/
run --now 2007-06-01 programme load workflows/pilot-2007.yaml
run --now 2007-06-01 programme show

say "Q3 2007: decide tender areas"
run --user anna --now 2007-09-20 advance AAR-SUND-01 approve_scope --note "Byrådet har besluttet"
run --user ole --now 2007-09-25 advance ODE-BESK-01 approve_scope
quarter_end 2007-10-01

say "Q4 2007: strategy work, materials begin (two decisions came late)"
run --user anna --now 2007-10-12 advance AAR-BESK-01 approve_scope
run --user mette --now 2007-11-05 advance FRB-SUND-01 approve_scope
quarter_end 2008-01-01

say "Q1 2008: launch tenders"
run --user anna --now 2008-01-10 advance AAR-SUND-01 publish --note "Udbudsbekendtgørelse sendt"
run --user ole --now 2008-01-29 advance ODE-BESK-01 publish
printf '# a project leader cannot close the bid period; the refusal says why:\n'
run --user anna --now 2008-02-01 advance AAR-SUND-01 close_bidding || true
run --user mette --now 2008-02-15 advance FRB-SUND-01 cancel --note "Markedsdialogen viste for få leverandører"
run --now 2008-02-15 forecast --until 2008-03-31
quarter_end 2008-04-01

say "Q2 2008: conclude tenders"
printf '# the award needs the winner and the contract value first:\n'
run --user anna --now 2008-04-10 advance AAR-SUND-01 decide_award || true
run --user anna --now 2008-04-10 advance AAR-SUND-01 decide_award \
    --set "winner=Falck Health Care A/S" --set contract_value=4100000
run --user anna --now 2008-04-14 advance AAR-BESK-01 publish
run --user ole --now 2008-05-20 advance ODE-BESK-01 decide_award --set "winner=Jobcenter Odense (kontrolbud)" \
    --set contract_value=2300000
quarter_end 2008-07-01

say "Q3 2008: collect data on results"
run --user anna --now 2008-09-15 tender set AAR-SUND-01 baseline_cost=4800000 bidders=4
run --user anna --now 2008-09-15 advance AAR-SUND-01 complete
quarter_end 2008-10-01

say "Where every tender ended"
run --now 2008-10-01 tender list
say "The history of AAR-SUND-01"
run --now 2008-10-01 tender history AAR-SUND-01
