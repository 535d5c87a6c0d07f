# Shared helpers for the gRPC integration tests (sourced). Arguments of every
# test: SERVER CLIENT SIM SOURCE_DIR WORK_DIR. Loopback addresses only.
set -euo pipefail
SERVER=$1 CLIENT=$2 SIM=$3 SRC=$4 WORK=$5
SCENARIO=$SRC/tests/integration/fedavg_logreg_4clients.yaml
NCLIENTS=4
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in *.log; do echo "== $f" >&2; tail -n 15 "$f" >&2; done; exit 1; }

# Self-signed CA, server/client certs, one bearer token per client.
setup_security() {
  "$SERVER" gen-certs certs >/dev/null
  : > tokens.txt
  for ((i = 0; i < NCLIENTS; i++)); do
    echo "$i token-$i-$RANDOM$RANDOM" >> tokens.txt
    awk -v id=$i '$1 == id {print $2}' tokens.txt > client$i.token
    printf 'tls: {ca: certs/ca.crt, cert: certs/client.crt, key: certs/client.key, server_name: localhost}\n' > client$i.yaml
    printf 'token_file: client%d.token\nretry: {initial_ms: 50, max_ms: 500, give_up_s: 60, wait_ms: 2000}\n' $i >> client$i.yaml
  done
}

# write_server_config FILE PORT [extra yaml lines]
write_server_config() {
  {
    echo "address: 127.0.0.1:$2"
    echo "tls: {cert: certs/server.crt, key: certs/server.key, client_ca: certs/ca.crt, require_client_cert: true}"
    echo "tokens_file: tokens.txt"
    echo "checkpoint: {dir: ckpt, every: 1}"
    echo "finish_grace_s: 10"
    echo "${3:-}"
  } > "$1"
}

# start_server LOG OUT [args...]: starts shoal-server; sets SERVER_PID and PORT.
start_server() {
  local log=$1 out=$2; shift 2
  rm -f port
  "$SERVER" run "$SCENARIO" --config server.yaml --out "$out" --port-file port "$@" > "$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=($SERVER_PID)
  for _ in $(seq 100); do [ -s port ] && break; kill -0 $SERVER_PID 2>/dev/null || fail "server exited early"; sleep 0.1; done
  [ -s port ] || fail "server did not report its port"
  PORT=$(cat port)
}

# start_client I [args...]: sets CLIENT_PIDS[I].
declare -a CLIENT_PIDS
start_client() {
  local i=$1; shift
  "$CLIENT" --server 127.0.0.1:$PORT --data "scenario:$SCENARIO:client=$i" --config client$i.yaml "$@" > client$i.log 2>&1 &
  CLIENT_PIDS[$i]=$!
  PIDS+=(${CLIENT_PIDS[$i]})
}

# wait_for_rows FILE N: until the metrics file has N rows (or 60 s).
wait_for_rows() {
  for _ in $(seq 600); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 never reached $2 rows"
}
