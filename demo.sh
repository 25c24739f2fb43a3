#!/usr/bin/env bash
# The demo: replay the whole 2007–2008 programme (workflows/forum-2007-2008.yaml) on a fresh
# SQLite store, from Q2 2007 to Q3 2008. Project leaders and the secretariat act at scripted dates
# (some late, one tender cancelled, one joint tender waiting for a sign-off); the scheduler
# (`kflow tick`, as a daemon would) closes requests periods, bid periods and standstills, queues
# reminders and flags overdue steps; at each quarter's end we print what the scheduler did and the
# overdue list. Early in Q2 2008 `kflow plan` shows which steps can still be met; Gentofte's
# restricted tender shows the two stages (requests, then tenders from the invitation) and
# `kflow legal deadline`. It ends with the effects report: savings and the estimated IKU against
# the 25 % target.
set -euo pipefail
cd "$(dirname "$0")"
export KFLOW_DB="sqlite:///demo.db"
export KFLOW_USER=kl-sek  # the secretariat administers (people, definitions, programmes)
unset KFLOW_NOW
rm -rf demo.db demo.db-wal demo.db-shm .demo-ticks demo-calendar.ics demo-effects.xlsx demo-materials

kflow() { .venv/bin/kflow "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ kflow %s\n' "$*"; kflow "$@"; }
# act DATE USER ARGS…: USER acts at DATE. A running scheduler would have caught up to DATE first;
# here a quiet `kflow tick` does it (once per date), so that its work shows in the quarter's report.
# (Without it the act itself would catch the tender up: the history would be the same.)
last_tick=""
act() {
  local when=$1 who=$2; shift 2
  if [ "$when" != "$last_tick" ]; then
    kflow --now "$when" tick | grep -v '^tick ' >> .demo-ticks || true
    last_tick=$when
  fi
  run --now "$when" --user "$who" "$@"
}
quarter_end() {  # $1 = the first day of the next quarter
  kflow --now "$1" tick | grep -v '^tick ' >> .demo-ticks || true
  say "What the scheduler did this quarter (timers, reminders, overdue flags)"
  sort .demo-ticks || true
  : > .demo-ticks
  say "Overdue as of $1"
  run --now "$1" overdue
}

say "Set-up: the store, the definitions, the programme"
run init
run definitions load definitions/
run --now 2007-06-01 programme load workflows/forum-2007-2008.yaml
run programme show

say "Q2 2007: forum 1 (kick-off), the agreement between the municipalities and KL"
act 2007-06-22 kl-sek advance KL-FORUM hold_forum_1 --note "Kick-off i Odense"
act 2007-06-29 kl-sek advance KL-FORUM sign_agreement
quarter_end 2007-07-01

say "Q3 2007: mapping, forum 2, tender areas decided (Herning is late)"
act 2007-09-14 kl-sek advance KL-FORUM hold_forum_2
for pair in 751:anna 461:ole 147:mette 561:soeren 630:karen 265:hanne 157:peter; do
  act 2007-09-17 "${pair#*:}" advance "STRAT-${pair%%:*}" finish_mapping
done
act 2007-09-18 mette advance FRB-SUND-01 approve_scope
act 2007-09-20 anna advance AAR-SUND-01 approve_scope --note "Byrådet har besluttet udbudsområdet"
act 2007-09-21 peter advance GEN-SUND-01 approve_scope
act 2007-09-24 anna advance FAE-BESK-01 approve_scope --note "Arbejdsgruppen: Aarhus, Odense, Esbjerg"
act 2007-09-24 mette advance FAE-SUND-01 approve_scope --note "Arbejdsgruppen: Frederiksberg, Gentofte, Roskilde"
act 2007-09-25 ole advance ODE-BESK-01 approve_scope
act 2007-09-26 hanne advance ROS-SUND-01 approve_scope
act 2007-09-27 karen advance VEJ-SUND-01 approve_scope
act 2007-09-28 soeren advance ESB-BESK-01 approve_scope
quarter_end 2007-10-01

say "Q4 2007: forum 3, strategies adopted (Esbjerg's comes late), materials begin"
act 2007-10-15 jens advance STRAT-657 finish_mapping
act 2007-10-19 jens advance HER-BESK-01 approve_scope --note "Besluttet i Arbejdsmarkedsudvalget"
act 2007-12-07 kl-sek advance KL-FORUM hold_forum_3
for pair in 751:anna 461:ole 147:mette 630:karen 657:jens 265:hanne 157:peter; do
  act 2007-12-13 "${pair#*:}" advance "STRAT-${pair%%:*}" adopt_strategy --note "Servicestrategi vedtaget i byrådet"
done
quarter_end 2008-01-01

say "Q1 2008: joint materials signed off, tenders launched; one tender cancelled"
printf '# the materials bank: documents made by the demo (python -m konkurrence_flow.samples),\n'
printf '# attached to their tenders; each is an event in the history, its SHA-256 in the chain\n'
.venv/bin/python -m konkurrence_flow.samples demo-materials > /dev/null
act 2008-01-08 anna tender attach AAR-SUND-01 demo-materials/kravspecifikation-genoptraening.odt --kind kravspecifikation
act 2008-01-10 anna advance AAR-SUND-01 publish --set tender_deadline=2008-02-22
act 2008-01-14 peter tender attach GEN-SUND-01 demo-materials/udbudsbekendtgoerelse-madservice.pdf --kind udbudsbekendtgoerelse
act 2008-01-14 peter tender attach GEN-SUND-01 demo-materials/kravspecifikation-madservice.docx --kind kravspecifikation --title "Kravspecifikation: Madservice"
act 2008-01-15 peter advance GEN-SUND-01 publish --note "Begrænset udbud, EU-bekendtgørelse sendt"
act 2008-01-21 mette advance FAE-SUND-01 approve_materials
act 2008-01-23 peter advance FAE-SUND-01 approve_materials
act 2008-01-24 soeren advance STRAT-561 adopt_strategy --note "Udbudspolitik vedtaget"
act 2008-01-25 hanne advance FAE-SUND-01 approve_materials
act 2008-01-29 mette advance FAE-SUND-01 publish --note "EU-udbud; dag 52 er langfredag"
act 2008-01-29 ole advance ODE-BESK-01 publish --set tender_deadline=2008-03-14
act 2008-02-04 mette advance FRB-SUND-01 publish --set tender_deadline=2008-03-07
act 2008-02-05 anna advance FAE-BESK-01 approve_materials
act 2008-02-07 ole advance FAE-BESK-01 approve_materials
printf '# the joint employment tender waits for Esbjerg; publishing is refused until then:\n'
act 2008-02-08 anna advance FAE-BESK-01 publish || true
run --now 2008-02-08 tender show FAE-BESK-01
act 2008-02-11 soeren advance ESB-BESK-01 publish --set tender_deadline=2008-03-14
printf '# Gentofte'"'"'s restricted tender: the requests closed at the end of 2008-02-21 (37 days from the\n'
printf '# notice); after the selection the tender period runs from the invitation. The calculator:\n'
run legal deadline --regime eu-2004-18 --procedure restricted --stage tenders --from 2008-02-25
act 2008-02-25 peter advance GEN-SUND-01 invite --note "Fem ansøgere udvalgt og opfordret til at afgive tilbud"
act 2008-02-20 karen tender attach VEJ-SUND-01 demo-materials/udkast-rygestop.txt --kind kravspecifikation
act 2008-02-25 karen advance VEJ-SUND-01 cancel --note "Markedsdialogen viste for få egnede leverandører"
act 2008-03-03 hanne advance ROS-SUND-01 publish --set tender_deadline=2008-04-11
act 2008-03-07 kl-sek advance KL-FORUM hold_forum_4
printf '# the award needs the winner and the yearly contract value:\n'
act 2008-03-20 anna advance AAR-SUND-01 decide_award || true
act 2008-03-20 anna advance AAR-SUND-01 decide_award --set "winner=Falck Health Care A/S" --set contract_value=4100000
quarter_end 2008-04-01

say "Q2 2008: awards, standstills, contracts, award notices; forum 5 (Herning and Esbjerg are late)"
act 2008-04-02 mette advance FRB-SUND-01 decide_award --set "winner=Falck Health Care A/S" --set contract_value=1900000
say "Can the timeline still be met? Every open tender's steps ahead, as of 2008-04-04"
printf '# earliest: if everybody acted at once and every period ran its minimum; unknown: a period\n'
printf '# that cannot be worked out yet (the note says what to record)\n'
kflow --now 2008-04-04 tick | grep -v '^tick ' >> .demo-ticks || true
last_tick=2008-04-04
run --now 2008-04-04 plan --programme forum-2007-2008
act 2008-04-07 anna advance AAR-SUND-01 sign_contract
act 2008-04-10 ole advance ODE-BESK-01 decide_award --set "winner=Jobcenter Odense (kontrolbud)" \
    --set contract_value=2300000 --set in_house_bid=yes --set in_house_won=yes
act 2008-04-15 peter advance GEN-SUND-01 decide_award --set "winner=Det Danske Madhus A/S" --set contract_value=3100000
act 2008-04-18 anna advance AAR-SUND-01 send_award_notice --note "Bekendtgørelse om indgået kontrakt sendt"
act 2008-04-21 mette advance FRB-SUND-01 sign_contract
act 2008-04-21 jens advance HER-BESK-01 publish --set tender_deadline=2008-05-30
act 2008-04-24 mette advance FAE-SUND-01 decide_award --set "winner=Coloplast Danmark A/S" --set contract_value=5400000
act 2008-04-28 ole advance ODE-BESK-01 sign_contract
act 2008-04-29 peter advance GEN-SUND-01 sign_contract
act 2008-05-02 mette advance FRB-SUND-01 send_award_notice
act 2008-05-05 soeren advance ESB-BESK-01 decide_award --set "winner=Job & Co A/S" --set contract_value=1200000
act 2008-05-06 soeren tender attach ESB-BESK-01 demo-materials/evaluering-jobsoegning.txt --kind evaluering
act 2008-05-09 hanne advance ROS-SUND-01 decide_award --set "winner=Rehab Partner ApS" --set contract_value=900000
act 2008-05-13 mette advance FAE-SUND-01 sign_contract
act 2008-05-16 ole advance ODE-BESK-01 send_award_notice
act 2008-05-20 peter advance GEN-SUND-01 send_award_notice
act 2008-05-22 soeren advance ESB-BESK-01 sign_contract
act 2008-05-26 hanne advance ROS-SUND-01 sign_contract
act 2008-06-02 mette advance FAE-SUND-01 send_award_notice
act 2008-06-06 kl-sek advance KL-FORUM hold_forum_5
act 2008-06-12 soeren advance ESB-BESK-01 send_award_notice
act 2008-06-16 hanne advance ROS-SUND-01 send_award_notice
act 2008-06-20 jens advance HER-BESK-01 decide_award --set "winner=Integrationshuset ApS" --set contract_value=1600000
quarter_end 2008-07-01

say "Q3 2008: data on results, forum 6 (the joint conference); Herning's award notice is late"
act 2008-07-14 jens advance HER-BESK-01 sign_contract
printf '# Herning sends its award notice late: it was due within 48 days of the contract\n'
act 2008-09-05 jens advance HER-BESK-01 send_award_notice
act 2008-09-12 kl-sek advance KL-FORUM hold_conference --note "Fælles konference i København"
act 2008-09-15 anna advance AAR-SUND-01 complete --set baseline_cost=4800000 --set bidders=4 --set in_house_bid=no
act 2008-09-19 peter tender attach GEN-SUND-01 demo-materials/effektmaaling-madservice.xlsx --kind effektmaaling
act 2008-09-20 peter advance GEN-SUND-01 complete --set baseline_cost=3600000 --set bidders=3 \
    --set in_house_bid=yes --set in_house_won=no
act 2008-09-22 mette advance FAE-SUND-01 complete --set baseline_cost=6300000 --set bidders=4 --set in_house_bid=no
act 2008-09-24 soeren advance ESB-BESK-01 complete --set baseline_cost=1450000 --set bidders=2 --set in_house_bid=no
act 2008-09-26 ole advance ODE-BESK-01 complete --set baseline_cost=2700000 --set bidders=5
act 2008-09-29 hanne advance ROS-SUND-01 complete --set baseline_cost=1050000 --set bidders=3 --set in_house_bid=no
act 2008-09-30 mette tender set FRB-SUND-01 baseline_cost=2250000 bidders=3
quarter_end 2008-10-01

say "Where every track ended"
run --now 2008-10-01 tender list
say "The history of the joint health tender"
run --now 2008-10-01 tender history FAE-SUND-01
say "Effects: savings and the estimated IKU against the 25 % target"
run --now 2008-10-01 effects
say "The notification outbox (kflow notify dispatch sends it; see README for SMTP and webhooks)"
kflow notify list --json | .venv/bin/python -c '
import collections, json, sys
notes = json.load(sys.stdin)
for kind, n in sorted(collections.Counter(n["kind"] for n in notes).items()):
    print(f"  {kind:<11} {n:>4} queued")
digest = next(n for n in reversed(notes) if n["kind"] == "digest")
print("\nThe last digest to the secretariat:\n")
print(digest["subject"]); print(); print(digest["body"])'

say "The materials bank: what Odense's project leader finds from the other municipalities"
printf '# published material is shared with the whole network; drafts stay with their tender\n'
run --now 2008-10-01 --user ole materials recent --limit 3
run --now 2008-10-01 --user ole materials search "madservice ældre"
run --now 2008-10-01 --user ole materials search kravspecifikation --kind kravspecifikation
run --now 2008-10-01 --user ole tender files GEN-SUND-01
printf '# Vejle'"'"'s draft (its tender was cancelled before publication): ole finds nothing, the secretariat does\n'
run --now 2008-10-01 --user ole materials search rygestop
run --now 2008-10-01 --user kl-sek materials search rygestop
run --now 2008-10-01 --user ole file get 3 -o demo-materials/hentet-kravspecifikation.docx
cmp demo-materials/hentet-kravspecifikation.docx demo-materials/kravspecifikation-madservice.docx \
  && printf '# the same bytes as attached\n'

say "The history nobody can quietly edit: every chain verified, and a digest for the minutes"
run --now 2008-10-01 audit verify
run --now 2008-10-01 --user kl-sek audit head

rm -f .demo-ticks

say "Deadlines for calendars, tables for Excel"
run --now 2008-10-01 --user kl-sek export ical -o demo-calendar.ics
printf '# %s events (due days with alarms, timers, milestones); subscribe instead: README, "Deadlines in your calendar"\n' \
  "$(grep -c 'BEGIN:VEVENT' demo-calendar.ics)"
run --now 2008-10-01 export xlsx effects -o demo-effects.xlsx
run --now 2008-10-01 export csv overdue --excel

say "The dashboard over this replayed programme"
printf 'Run `make serve`, then open the sign-in link it prints: http://127.0.0.1:8000/\n'
printf '(overview, Gantt, overdue board, tender pages with forms, the outbox, effects)\n'
