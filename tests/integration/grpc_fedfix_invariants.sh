# FedFix over gRPC: 4 always-busy clients, a server step every delta_t = 0.4 s
# (wall clock here, virtual in shoal-sim, so the grouping of clients into
# windows differs and the check is on invariants): 5 steps, each step's
# aggregated results match the strategy's window count, every client that
# returns is restarted (no task lost: results = tasks done), and the model
# learns (test accuracy far above the 10% of chance, loss below the initial
# model's ln 10).
source "$(dirname "$0")/grpc_common.sh"
SCENARIO=$SRC/tests/integration/fedfix_logreg_4clients.yaml
setup_security
write_server_config server.yaml 0 "commit_order: arrival"
sed -i '/^checkpoint:/d' server.yaml  # FedBuff/FedFix have no SaveState
start_server server.log srv
for ((i = 0; i < NCLIENTS; i++)); do start_client $i; done
wait $SERVER_PID || fail "server exited with $?"
for ((i = 0; i < NCLIENTS; i++)); do wait ${CLIENT_PIDS[$i]} || fail "client $i exited with $?"; done
ROWS=$(wc -l < srv/metrics.jsonl)
[ "$ROWS" -eq 5 ] || fail "expected 5 FedFix steps, got $ROWS"
field() { grep -o "\"$1\":[0-9.e+-]*" "$2" | cut -d: -f2 | tr '\n' ' '; }
[ "$(field clients srv/metrics.jsonl)" = "$(field window_clients srv/metrics.jsonl)" ] ||
  fail "results per step $(field clients srv/metrics.jsonl) != window clients $(field window_clients srv/metrics.jsonl)"
TOTAL=$(field clients srv/metrics.jsonl | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s }')
[ "$TOTAL" -ge 8 ] || fail "only $TOTAL results in 5 windows of 4 busy clients"
awk -v a="$(field test_acc srv/metrics.jsonl)" -v l="$(field test_loss srv/metrics.jsonl)" \
  'BEGIN { na = split(a, x, " "); split(l, y, " "); exit !(x[na] > 0.45 && y[na] < 2.0) }' ||
  fail "model did not learn: test_acc $(field test_acc srv/metrics.jsonl) test_loss $(field test_loss srv/metrics.jsonl)"
echo "OK: 5 FedFix steps with $(field clients srv/metrics.jsonl)results; test_acc $(field test_acc srv/metrics.jsonl)"
