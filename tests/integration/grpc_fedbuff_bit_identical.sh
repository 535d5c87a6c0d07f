# FedBuff over gRPC: server + 4 clients over mutual TLS, 3 clients in flight,
# a server update every 2 results, 6 updates. FedBuff reads no clock, so the
# server's simulator-order commits (virtual dispatch time + planned work, then
# dispatch order) replay shoal-sim's events: the final model must equal the
# simulator's byte for byte, with the same number of results per update and
# the same staleness figures.
source "$(dirname "$0")/grpc_common.sh"
SCENARIO=$SRC/tests/integration/fedbuff_logreg_4clients.yaml
"$SIM" run "$SCENARIO" --out sim --threads 2 > sim.log 2>&1 || fail "shoal-sim failed"
setup_security
write_server_config server.yaml 0
sed -i '/^checkpoint:/d' server.yaml  # FedBuff/FedFix have no SaveState
start_server server.log srv
for ((i = 0; i < NCLIENTS; i++)); do start_client $i; done
wait $SERVER_PID || fail "server exited with $?"
for ((i = 0; i < NCLIENTS; i++)); do wait ${CLIENT_PIDS[$i]} || fail "client $i exited with $?"; done
ROWS=$(wc -l < srv/metrics.jsonl)
[ "$ROWS" -eq 6 ] || fail "expected 6 server updates, got $ROWS"
# Every update aggregated exactly buffer_size = 2 results.
[ "$(grep -c '"clients":2,' srv/metrics.jsonl)" -eq 6 ] || fail "an update did not aggregate exactly 2 results"
# Stale results were aggregated (3 in flight, K = 2), with the simulator's staleness.
field() { grep -o "\"$1\":[0-9.e+-]*" "$2" | cut -d: -f2 | tr '\n' ' '; }
[ "$(field staleness_max srv/metrics.jsonl)" = "$(field staleness_max sim/metrics.jsonl)" ] ||
  fail "staleness differs: server $(field staleness_max srv/metrics.jsonl), sim $(field staleness_max sim/metrics.jsonl)"
awk -v m="$(field staleness_max srv/metrics.jsonl)" 'BEGIN { split(m, a, " "); exit !(a[6] >= 1) }' ||
  fail "no stale result was aggregated"
cmp srv/final_model.bin sim/final_model.bin || fail "final models differ"
[ "$(field test_acc srv/metrics.jsonl)" = "$(field test_acc sim/metrics.jsonl)" ] || fail "test accuracy differs"
echo "OK: 6 FedBuff updates, staleness max $(field staleness_max srv/metrics.jsonl)| models identical"
