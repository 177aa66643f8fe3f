# The benchmark (scripts/bench/): its workloads, `make bench` (every
# workload under glibc, jemalloc, mimalloc, tcmalloc, memtier and the shim,
# alternating, BENCH_RUNS runs each, the targets judged on the medians; the
# report also goes to $(BUILD)/bench/RESULTS.md) and `make bench-quick` (one
# tiny run of everything, no judging; `make check` runs it as
# scripts/bench/quick.bats).
# The peers come from `scripts/install-deps.sh --bench`.

BENCH_DIR := $(BUILD)/bench
BENCH_PLAIN := $(patsubst scripts/bench/workloads/%.c,$(BENCH_DIR)/%,$(filter-out \
                 scripts/bench/workloads/block_interleave.c,$(sort $(wildcard scripts/bench/workloads/*.c))))
BENCH_WORKLOADS := $(BENCH_PLAIN) $(BENCH_DIR)/block_interleave
BENCH_CFLAGS := -std=gnu11 $(WARN) -O2 -g -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
                -fno-builtin-realloc
.PHONY: bench bench-quick bench-workloads

bench-workloads: $(BENCH_WORKLOADS)

$(BENCH_PLAIN): $(BENCH_DIR)/%: scripts/bench/workloads/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(DEPFLAGS) -o $@ $< -lpthread

# The block-interleave workload also calls libaml's area directly.
$(BENCH_DIR)/block_interleave: scripts/bench/workloads/block_interleave.c $(LIBAML_SO)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -Iinclude $(DEPFLAGS) -o $@ $< -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../lib' -laml $(LIBS)

bench: lib bench-workloads
	@scripts/install-deps.sh --bench
	python3 scripts/bench/bench.py --build $(BUILD) --runs $(BENCH_RUNS) \
	  --markdown $(BENCH_DIR)/RESULTS.md --json $(BENCH_DIR)/results.json

bench-quick: lib bench-workloads
	AMLSHIM_TEST_BUILD=$(BUILD) scripts/bench/quick-check.sh
