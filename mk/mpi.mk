# The MPI tests (README "MPI and batch jobs"): tests/mpi/buffers.c built with
# each MPI's own compiler wrapper (mpicc.openmpi, mpicc.mpich, never the
# alternatives' mpicc), run by tests/bats/mpi.bats on the host (2 ranks) and
# by tests/vm/mpi.sh in the test VM (4 ranks), installed there as
# build/tests/vm/mpi/IMPL. A missing MPI fails the build in CI (CI=true);
# elsewhere it is said and the tests skip.

MPI_IMPLS := openmpi mpich
MPI_PROGRAMS := $(MPI_IMPLS:%=$(BUILD)/tests/mpi/buffers-%)
MPI_VM_TESTS := $(MPI_IMPLS:%=$(BUILD)/tests/vm/mpi/%)
.PHONY: mpi-tests $(MPI_PROGRAMS)

mpi-tests: $(MPI_PROGRAMS) $(MPI_VM_TESTS) $(AMLSHIM_BIN)
tests vm-tests check-bats: mpi-tests
VM_RUN += $(MPI_VM_TESTS)

# Phony, so a skip is retried once the MPI is installed; the compiler runs
# only when the source is newer.
$(MPI_PROGRAMS): $(BUILD)/tests/mpi/buffers-%: tests/mpi/buffers.c
	@mkdir -p $(dir $@)
	@if ! command -v mpicc.$* >/dev/null 2>&1; then \
	  if [ "$(CI)" = true ]; then echo "mpicc.$* not found: run 'make deps' (CI=true: a failure)" >&2; exit 1; fi; \
	  echo "skip: mpicc.$* not found ('make deps' installs it): the $* tests will skip"; rm -f $@; \
	elif [ ! -x $@ ] || [ $< -nt $@ ]; then \
	  echo "mpicc.$* -std=gnu11 $(WARN) -O2 $< -o $@"; mpicc.$* -std=gnu11 $(WARN) -O2 $< -o $@; \
	fi

$(MPI_VM_TESTS): $(BUILD)/tests/vm/mpi/%: tests/vm/mpi.sh
	@mkdir -p $(dir $@)
	cp $< $@ && chmod 755 $@
