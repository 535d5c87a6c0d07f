#!/usr/bin/env bash
# Starts shoal-server and N shoal-client processes on localhost for a
# scenario, over TLS with mutual authentication and per-client bearer tokens
# (certificates made by `shoal-server gen-certs`), and waits for training to
# end. For demos; the gRPC integration tests do the same with checks.
#
#   scripts/launch_local.sh SCENARIO [N_CLIENTS] [WORK_DIR] [-- extra server args]
#   BIN=build/release scripts/launch_local.sh scenarios/fedavg_fmnist.yaml 10
#
# N_CLIENTS defaults to the scenario's data.num_clients (every partition gets
# a process); the server starts training when all of them registered.
set -euo pipefail
SCENARIO=${1:?usage: launch_local.sh SCENARIO [N_CLIENTS] [WORK_DIR] [-- server args]}
shift
N=""; WORK=""
if [[ $# -gt 0 && $1 != -- ]]; then N=$1; shift; fi
if [[ $# -gt 0 && $1 != -- ]]; then WORK=$1; shift; fi
[[ $# -gt 0 && $1 == -- ]] && shift
BIN=${BIN:-build/release}
SERVER=$BIN/server/shoal-server
CLIENT=$BIN/client/shoal-client
[[ -x $SERVER && -x $CLIENT ]] || { echo "build shoal-server and shoal-client into $BIN first" >&2; exit 1; }
SCENARIO=$(realpath "$SCENARIO")
if [[ -z $N ]]; then
  N=$(awk '/^data:/ {d=1} d && /num_clients:/ {print $2; exit}' "$SCENARIO")
fi
WORK=${WORK:-runs/local_$(basename "$SCENARIO" .yaml)}
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
SERVER=$(realpath "$SERVER"); CLIENT=$(realpath "$CLIENT")
cd "$WORK"

[[ -f certs/ca.crt ]] || "$SERVER" gen-certs certs
: > tokens.txt
for ((i = 0; i < N; i++)); do
  tok=$(openssl rand -hex 16)
  echo "$i $tok" >> tokens.txt
  echo "$tok" > client$i.token
  printf 'tls: {ca: certs/ca.crt, cert: certs/client.crt, key: certs/client.key, server_name: localhost}\ntoken_file: client%d.token\n' $i > client$i.yaml
done
cat > server.yaml <<YAML
address: 127.0.0.1:0
tls: {cert: certs/server.crt, key: certs/server.key, client_ca: certs/ca.crt, require_client_cert: true}
tokens_file: tokens.txt
checkpoint: {dir: ckpt, every: 1}
min_clients: $N
YAML

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
rm -f port
"$SERVER" run "$SCENARIO" --config server.yaml --out server --port-file port "$@" > server.log 2>&1 &
SERVER_PID=$!; PIDS+=($SERVER_PID)
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.1; done
[[ -s port ]] || { echo "server did not start; see $WORK/server.log" >&2; exit 1; }
PORT=$(cat port)
echo "server on 127.0.0.1:$PORT; $N clients; logs in $WORK"
for ((i = 0; i < N; i++)); do
  "$CLIENT" --server 127.0.0.1:$PORT --data "scenario:$SCENARIO:client=$i" --config client$i.yaml > client$i.log 2>&1 &
  PIDS+=($!)
done
wait $SERVER_PID
echo "server finished: $(tail -n 1 server.log)"
echo "final model: $WORK/server/final_model.bin, metrics: $WORK/server/metrics.jsonl"
