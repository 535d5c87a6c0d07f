# The server is killed (SIGKILL) mid-run and restarted with --resume: it
# continues from its last checkpoint, the clients re-register, no completed
# round is lost, and since FedAvg's round state is fully checkpointed the
# final model still equals shoal-sim's, byte for byte.
source "$(dirname "$0")/grpc_common.sh"
SETS=(--set model.name=mlp --set client.epochs=2 --set strategy.rounds=6)
"$SIM" run "$SCENARIO" --out sim --threads 2 "${SETS[@]}" > sim.log 2>&1 || fail "shoal-sim failed"
setup_security
write_server_config server.yaml 0
start_server server1.log srv1 "${SETS[@]}"
for ((i = 0; i < NCLIENTS; i++)); do start_client $i "${SETS[@]}"; done
wait_for_rows srv1/metrics.jsonl 2
kill -9 $SERVER_PID
wait $SERVER_PID 2>/dev/null || true
DONE_BEFORE=$(wc -l < srv1/metrics.jsonl)
[ "$DONE_BEFORE" -lt 6 ] || fail "training ended before the kill; nothing to resume"
write_server_config server.yaml $PORT
start_server server2.log srv2 --resume "${SETS[@]}"
wait $SERVER_PID || fail "resumed server exited with $?"
for ((i = 0; i < NCLIENTS; i++)); do wait ${CLIENT_PIDS[$i]} || fail "client $i exited with $?"; done
RESUMED=$(sed -n 's/.*resumed from .* at round \([0-9]*\).*/\1/p' server2.log)
[ -n "$RESUMED" ] || fail "the restarted server did not resume"
[ "$RESUMED" -ge "$DONE_BEFORE" ] || fail "resumed at round $RESUMED but $DONE_BEFORE rounds had completed"
cmp srv2/final_model.bin sim/final_model.bin || fail "final model differs from the simulator's"
echo "OK: killed after $DONE_BEFORE rounds, resumed at round $RESUMED, final model identical"
