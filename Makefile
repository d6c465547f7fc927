# One command per habit. Every target installs what it needs first (scripts/bootstrap.sh).
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: bootstrap run test test-slow lint bench chaos clean fuzz load

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap  ## start the gateway with an embedded Redis on 127.0.0.1:8000 (ARGS="--config batchgate.toml")
	$(BIN)/batchgate serve $(ARGS)

test: bootstrap  ## the default suite: unit, integration and end-to-end tests
	$(BIN)/pytest $(ARGS)

test-slow: bootstrap  ## long runs: chaos, large fuzzing
	$(BIN)/pytest -m slow $(ARGS)

lint: bootstrap  ## ruff and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: bootstrap  ## benchmarks in tests/benchmarks, printing their figures
	$(BIN)/pytest -m benchmark -s tests/benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .batchgate .pytest_cache .mypy_cache .ruff_cache

chaos: bootstrap  ## seeded chaos rounds (CHAOS_SEED=1 CHAOS_ROUNDS=3): kills, Redis restarts, upstream faults, disk full
	CHAOS_SEED=$${CHAOS_SEED:-1} CHAOS_ROUNDS=$${CHAOS_ROUNDS:-3} $(BIN)/pytest -m slow -s tests/chaos $(ARGS)

fuzz: bootstrap  ## long fuzzing: hypothesis (validator, uploads; FUZZ_EXAMPLES=N), schemathesis, atheris (FUZZ_RUNS=N)
	$(BIN)/pytest -m slow -s tests/fuzz tests/integration/test_schemathesis.py $(ARGS)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	mkdir -p .batchgate/fuzz/validator
	$(BIN)/python -m tests.fuzz.atheris_validator -runs=$${FUZZ_RUNS:-100000} -max_len=512 \
		.batchgate/fuzz/validator tests/fuzz/corpus/validator

load: bootstrap  ## load test on `batchgate serve` (LOAD_SECONDS=180 LOAD_RATE=500), printing a table
	LOAD_SECONDS=$${LOAD_SECONDS:-180} $(BIN)/pytest -m benchmark -s tests/benchmarks/test_load.py $(ARGS)
