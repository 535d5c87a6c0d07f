# Acceptance: server + 4 clients over mutual TLS with bearer tokens, 5 FedAvg
# rounds of logreg on Fashion-MNIST; the final global model must equal
# shoal-sim's for the same scenario and seed, byte for byte.
source "$(dirname "$0")/grpc_common.sh"
"$SIM" run "$SCENARIO" --out sim --threads 2 > sim.log 2>&1 || fail "shoal-sim failed"
setup_security
write_server_config server.yaml 0
start_server server.log srv
for ((i = 0; i < NCLIENTS; i++)); do start_client $i; done
wait $SERVER_PID || fail "server exited with $?"
for ((i = 0; i < NCLIENTS; i++)); do wait ${CLIENT_PIDS[$i]} || fail "client $i exited with $?"; done
grep -q "TLS, mutual TLS" server.log || fail "server did not serve mutual TLS"
cmp srv/final_model.bin sim/final_model.bin || fail "final models differ"
echo "OK: $(stat -c %s srv/final_model.bin) bytes identical"
