# Stance Pulse. `make up` runs the stack; `make test` runs the suite. Both set up .venv themselves.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The stamp's name carries a hash of pyproject.toml, so a changed dependency list reinstalls.
comma := ,
LOCK := requirements/serving.txt
DEPS_HASH := $(shell cat pyproject.toml $(LOCK) | sha1sum | cut -c1-10)
RUNTIME := $(VENV)/.runtime-$(DEPS_HASH)
DEV := $(VENV)/.dev-$(DEPS_HASH)
RELEASE_BUNDLE := $(firstword $(wildcard models/release/*/meta.json))

DATA ?= ../shared/data
# make images: the CPU image (every service) and the GPU inference image, tagged for IMAGE_REPO (your registry).
IMAGE_REPO ?= ghcr.io/stance-pulse
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
CONTAINER ?= $(shell command -v docker || command -v podman)
.PHONY: up test test-unit test-model test-deploy test-integration test-chaos soak lock lint typecheck check tools train train-cpu medium-lm clean vendor images

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# setuptools warns on every editable install that folders named like the packages could shadow them (ours are
# those folders): that one notice only, other warnings still show.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"

# Serving needs no torch; without a shipped bundle `pulse up` trains a small one, which does.
$(RUNTIME): $(VENV)/bin/python pyproject.toml $(LOCK)
	$(QUIET_EDITABLE) $(BIN)/pip install -q -c $(LOCK) -e '.[local$(if $(RELEASE_BUNDLE),,$(comma)train)]'
	touch $@

# Tests train tiny bundles and check ONNX parity: they need the train extra (torch==2.13.0, CPU build).
$(DEV): $(VENV)/bin/python pyproject.toml $(LOCK)
	$(QUIET_EDITABLE) $(BIN)/pip install -q -c $(LOCK) -e '.[local,dev,train]'
	touch $@ $(RUNTIME)

up: $(RUNTIME)
	$(BIN)/pulse up $(ARGS)

# Debian packages some tests need: Chromium (the page test), kubectl (renders the kustomize overlays) and
# prometheus (promtool for the alert rules; a real Prometheus for the monitoring test and `pulse up --prometheus`) and
# rclone (the Redis backup and restore drill against a local S3 store).
# Installed when running as root; otherwise those tests are skipped with a reason. The operators' schemas
# (deploy/schemas) are npm packages the CRD test installs with `npm ci` on first use.
TOOLS := chromium kubectl prometheus rclone
tools:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	      || echo "could not install$$missing: their tests will be skipped"; \
	  else echo "not root: $$missing not installed, their tests will be skipped"; fi; fi

# The suite in tiers by cost (tests/conftest.py): the unit tier first (seconds; a broken core fails fast), then the
# model, deploy, integration and chaos tiers together on TEST_WORKERS processes (they mostly wait on brokers and
# services, so more workers than cores pay). ARGS runs just what it names, in one process. `make test-TIER` runs
# one tier.
TEST_WORKERS ?= 6
test: $(DEV) tools
ifeq ($(strip $(ARGS)),)
	$(BIN)/pytest -m unit
	$(BIN)/pytest -m "not unit and not soak" -n $(TEST_WORKERS)
else
	$(BIN)/pytest $(ARGS)
endif

TIERS := unit model deploy integration chaos
$(addprefix test-,$(TIERS)): test-%: $(DEV) tools
	$(BIN)/pytest -m "$* and not soak" $(if $(filter unit,$*),,-n $(TEST_WORKERS)) $(ARGS)

# The long chaos run: pulse up for PULSE_SOAK_S seconds (default 600) with a worker killed -9 every
# PULSE_SOAK_KILL_EVERY_S (default 45); the counts must end exact.
soak: $(DEV)
	$(BIN)/pytest -m soak -s tests/chaos/test_soak.py $(ARGS)

# The pinned serving dependencies (requirements/serving.txt), resolved for the images' Python and platform.
lock: $(DEV)
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --no-header --annotation-style line -o $(LOCK).new
	{ sed -n '1,2p' $(LOCK); cat $(LOCK).new; } > $(LOCK).tmp && rm $(LOCK).new && mv $(LOCK).tmp $(LOCK)

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(DEV)
	$(BIN)/mypy services models

check: lint typecheck test

# The shipped bundle, from the shared data: tokenizer, two LM stages, the forward classifier, a backward LM (from
# the forward one, on reversed stance + political tweets) and its classifier, both averaged in one graph, the
# n-gram ensemble (weight chosen on a dev split of the training data), the int8 graph, the ablations (3 seeds each,
# their table printed; models/results/ablations.json holds the model card's), evaluation and the model card's
# figures. Resumable (rerun after an interruption). Hours on this CPU; under an hour on a GPU (models/README.md).
# Writes beside the release, not over it (compare, then copy into models/release/).
TRAIN_OUT ?= runs/release/ulmfit-small-v5
train: $(DEV)
	$(BIN)/python -m models.training.ulmfit --data-dir $(DATA) --work runs/u-small --out $(TRAIN_OUT) \
	  --size small --version ulmfit-small-v5 --batch-size 128 --lm1-epochs 15 --lm2-epochs 6 --ensemble \
	  --backward-member --quantize --ablations --ablation-seeds 0,1,2
	$(BIN)/python -m models.research.ablations --results runs/u-small/ablations.json
	$(BIN)/python -m models.research.baselines --data-dir $(DATA) --out runs/baselines.json
	$(BIN)/python -m models.research.report --bundle $(TRAIN_OUT) --lm-bundle $(TRAIN_OUT) \
	  --lstm-history runs/u-small/bundle-lstm/meta.json --out models/figures

# The same recipe from the committed LM (models/pretrained/lm-small-v1.pt and its tokenizer) instead of the LM
# stages, which take ~14 hours on this CPU: the classifiers, the backward LM and its classifier, the dev twins, the
# ensemble, the int8 graph and the evaluation, about 2 hours on 2 cores. Writes beside the release, not over it
# (compare, then copy). ARGS adds options, e.g. ARGS="--target-position both". LABELS=labels.csv adds the reviewers'
# labels (`pulse labels export --holdout 0.2 --holdout-out held.csv`) to the classifiers' training data;
# HELDOUT=held.csv keeps the held-out ones out of every training text and compares the new bundle with the release
# on them (a paired bootstrap: runs/u-small-cpu/live_comparison.md and the bundle's metrics.live_holdout).
CPU_OUT ?= runs/release-cpu/ulmfit-small-v5
CPU_WORK ?= runs/u-small-cpu
train-cpu: $(DEV)
	$(BIN)/python -m models.training.ulmfit --data-dir $(DATA) --work $(CPU_WORK) --out $(CPU_OUT) --size small \
	  --version ulmfit-small-v5 --from-lm models/pretrained/lm-small-v1.pt \
	  --from-tokenizer models/pretrained/tokenizer-v1.model --ensemble --backward-member --quantize \
	  $(if $(LABELS),--extra-train $(LABELS)) \
	  $(if $(HELDOUT),--live-holdout $(HELDOUT) --compare-with $(dir $(RELEASE_BUNDLE))) $(ARGS)

# The medium LM (models/README.md: a medium forward member) lives in git history only: the last commit that had it.
MEDIUM_LM := models/pretrained/lm-medium-v1.pt
medium-lm:
	@test -f $(MEDIUM_LM) || git show "$$(git rev-list -n 1 HEAD -- $(MEDIUM_LM))^:$(MEDIUM_LM)" > $(MEDIUM_LM)
	@ls -l $(MEDIUM_LM)

# Both Dockerfiles install requirements/serving.txt (the lock), so a rebuild gets the same packages. Push with
# `$(CONTAINER) push`, then point the overlay at them (deploy/README.md: Images).
images:
	@test -n "$(CONTAINER)" || { echo "make images: needs docker or podman"; exit 2; }
	$(CONTAINER) build -t $(IMAGE_REPO)/stance-pulse:$(IMAGE_TAG) -f Dockerfile .
	$(CONTAINER) build -t $(IMAGE_REPO)/stance-pulse-infer-gpu:$(IMAGE_TAG) -f Dockerfile.gpu .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# The page's chart library, served by the API itself (no CDN): the files of the uplot pinned in web/package-lock.json.
# A browser test fails while the committed copies differ from it.
vendor:
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cp web/node_modules/uplot/dist/uPlot.iife.min.js web/node_modules/uplot/dist/uPlot.min.css services/api/static/vendor/
	cp web/node_modules/uplot/LICENSE services/api/static/vendor/uPlot.LICENSE
	cp web/node_modules/swagger-ui-dist/swagger-ui-bundle.js web/node_modules/swagger-ui-dist/swagger-ui.css \
	  web/node_modules/swagger-ui-dist/favicon-32x32.png services/api/static/vendor/
	cp web/node_modules/swagger-ui-dist/LICENSE services/api/static/vendor/swagger-ui.LICENSE
