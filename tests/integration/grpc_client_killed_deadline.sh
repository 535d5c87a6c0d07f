# A client killed mid-round: client 3 SIGKILLs itself when its second task
# arrives (deterministic, unlike a kill from outside racing fast rounds), so
# every round from round 2 on closes at its 2 s deadline with the 3 remaining
# clients, and training finishes.
source "$(dirname "$0")/grpc_common.sh"
SETS=(--set strategy.deadline_s=2)
setup_security
write_server_config server.yaml 0
start_server server.log srv "${SETS[@]}"
START=$(date +%s.%N)
for ((i = 0; i < NCLIENTS - 1; i++)); do start_client $i "${SETS[@]}"; done
start_client 3 "${SETS[@]}" --crash-after-tasks 1
wait $SERVER_PID || fail "server exited with $?"
END=$(date +%s.%N)
for i in 0 1 2; do wait ${CLIENT_PIDS[$i]} || fail "client $i exited with $?"; done
[ -s srv/final_model.bin ] || fail "no final model"
ROWS=$(wc -l < srv/metrics.jsonl)
[ "$ROWS" -eq 5 ] || fail "expected 5 rounds, got $ROWS"
grep '"round":1' srv/metrics.jsonl | grep -q '"clients":4' || fail "round 1 should have all 4 clients"
[ "$(grep -c '"clients":3' srv/metrics.jsonl)" -eq 4 ] || fail "rounds 2-5 should each close with 3 clients"
# Rounds after the kill aggregated 3 clients (the killed one missed them).
grep -q '"clients":3' srv/metrics.jsonl || fail "no round closed with 3 clients"
grep '"round":5' srv/metrics.jsonl | grep -q '"clients":3' || fail "the last round did not close without client 3"
awk -v s=$START -v e=$END 'BEGIN { exit !(e - s < 40) }' || fail "rounds did not close by their deadlines"
echo "OK: $(grep -c '"clients":3' srv/metrics.jsonl) rounds closed at the deadline without client 3"
