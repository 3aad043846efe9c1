#!/usr/bin/env bash
# Session 4's GPU experiments: every job at once (one GPU, 16 cores), results packed into $OUT before the deadline.
set -u
JOBS=${JOBS:-"lm1 nopre nogu fwdtwin fwdpol bwd fwdpol-clf fwdpol-twin bwd-clf bwd-twin lm2 notweet"}
D=${DATA:-/tmp/data}; W=${WORK:-/tmp/work}; R=$OUT/r
if [ ! -d "$D/pstance" ]; then mkdir -p "$D" && tar -xJf ${DATA_TAR:-gpu/data.tar.xz} -C "$D"; fi
mkdir -p "$W" "$R"; cp -n ${TOK:-models/pretrained/tokenizer-v1.model} "$W/tokenizer.model"
[ -f gpu/lm1-fp16.pt ] && cp gpu/lm1-fp16.pt "$R/"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
PY=${PY:-python3}
for j in $JOBS; do $PY experiments/session4/exp.py "$j" --data "$D" --work "$W" --out "$R" > "$R/$j.log" 2>&1 & done
deadline=$((SECONDS + ${DEADLINE:-540}))
while [ $SECONDS -lt $deadline ] && [ -n "$(jobs -pr)" ]; do sleep 5; done
echo "after ${SECONDS}s, still running: $(jobs -pr | wc -l)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
grep -h "trained in\|: {" "$R"/*.log
for b in ${BUNDLES:-fwdpol-clf fwdpol-twin bwd-clf bwd-twin fwd-dev}; do
  [ -f "$W/bundle-$b/meta.json" ] && tar cf "$OUT/$b.tar" -C "$W" "bundle-$b/model.onnx" "bundle-$b/meta.json"
done
[ -f "$R/lm1-fp16.pt" ] && mv "$R/lm1-fp16.pt" "$OUT/"
tar czf "$OUT/results.tgz" -C "$OUT" r && rm -rf "$R"
ls -la "$OUT"
