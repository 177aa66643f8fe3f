# shellcheck shell=bash
# shellcheck disable=SC2034 # VM_* are set here for run-vm.sh
# The test VM's NUMA topology, in one place. Sourced by run-vm.sh.
#
#   vm_topology NODES    sets, for a 2-, 4- (default) or 8-node machine:
#     VM_SMP            -smp value
#     VM_MEM_MB         total guest memory (MiB)
#     VM_QEMU_NUMA      array of qemu arguments: memory backends, -numa node,
#                       -numa dist (SLIT), -numa hmat-lb (HMAT) for every
#                       initiator/target pair
#     VM_ENV            array of NAME=value lines for the in-VM tests: the
#                       topology and what the tests must find in it
#   vm_topology_describe prints the topology as a table (for logs and docs).
#
# Each node is "cpus:memory MiB:kind:home". kind is dram (a socket's own
# memory), hbm (small and fast) or cxl (large and slow); home is the node
# whose CPUs the memory is attached to (itself for a node with CPUs).
# Latency, bandwidth and distance follow from kind and home, by the rules in
# vm_latency, vm_bandwidth and vm_distance, so every variant is consistent.

# Access latency (ns) and bandwidth (MiB/s) from an initiator to a target of
# a kind, when the target is attached to the initiator ("home") or not.
vm_latency() { # kind home?(1|0)
	case $1:$2 in
	dram:1) echo 100 ;; dram:0) echo 150 ;;
	hbm:1) echo 120 ;;  hbm:0) echo 170 ;;
	cxl:1) echo 300 ;;  cxl:0) echo 350 ;;
	esac
}
vm_bandwidth() { # kind home?(1|0)
	case $1:$2 in
	dram:1) echo 102400 ;; dram:0) echo 51200 ;;
	hbm:1) echo 409600 ;;  hbm:0) echo 204800 ;;
	cxl:1) echo 25600 ;;   cxl:0) echo 20480 ;;
	esac
}
# SLIT distance between two different nodes: 12 when they share a home,
# 20 when not, plus 2 for each HBM end and 14 for each CXL end. From node 0
# in the 4-node machine: 10 (itself), 14 (HBM), 20 (the other socket),
# 26 (CXL); the kernel's fallback from the HBM node is node 0 first.
vm_distance() { # kind_a home_a kind_b home_b
	local d=20 kind
	[ "$2" = "$4" ] && d=12
	for kind in "$1" "$3"; do
		case $kind in hbm) d=$((d + 2)) ;; cxl) d=$((d + 14)) ;; esac
	done
	echo "$d"
}

vm_topology() {
	local nodes=${1:-4}
	local -a table
	# Expectations (from node 0's CPUs): the best bandwidth node and the next
	# best (where memory goes when the best is full), the lowest latency
	# node, the largest node; SUBSET: a node subset to interleave over.
	local bw_best bw_next lat_best cap_best subset
	case $nodes in
	2)
		VM_SMP=4,sockets=2,cores=2,threads=1
		table=(0-1:1024:dram:0 2-3:1536:dram:1)
		bw_best=0 bw_next=1 lat_best=0 cap_best=1 subset=1 ;;
	4)
		VM_SMP=4,sockets=2,cores=2,threads=1
		table=(0-1:512:dram:0 2-3:512:dram:1 -:512:hbm:0 -:1536:cxl:0)
		bw_best=2 bw_next=0 lat_best=0 cap_best=3 subset=1,3 ;;
	8)
		VM_SMP=4,sockets=4,cores=1,threads=1
		table=(0:512:dram:0 1:512:dram:1 2:512:dram:2 3:512:dram:3
		       -:512:hbm:0 -:512:hbm:2 -:1024:cxl:0 -:1536:cxl:2)
		bw_best=4 bw_next=0 lat_best=0 cap_best=7 subset=1,6 ;;
	*)
		echo "vm_topology: VM_NODES must be 2, 4 or 8 (not '$nodes')" >&2
		return 1 ;;
	esac

	local -a cpus mem kind home
	local i t
	for i in "${!table[@]}"; do
		IFS=: read -r "cpus[i]" "mem[i]" "kind[i]" "home[i]" <<<"${table[i]}"
	done

	VM_TOPOLOGY_TABLE=("${table[@]}")
	VM_MEM_MB=0
	VM_QEMU_NUMA=()
	local initiators=() node_cpus="" node_mem="" dist_rows="" hmat_local=""
	for i in "${!table[@]}"; do
		VM_MEM_MB=$((VM_MEM_MB + mem[i]))
		VM_QEMU_NUMA+=(-object "memory-backend-ram,id=mem$i,size=${mem[i]}M")
		if [ "${cpus[i]}" != - ]; then
			VM_QEMU_NUMA+=(-numa "node,nodeid=$i,cpus=${cpus[i]},memdev=mem$i")
			initiators+=("$i")
		else
			VM_QEMU_NUMA+=(-numa "node,nodeid=$i,memdev=mem$i,initiator=${home[i]}")
		fi
		if [ "${cpus[i]}" = - ]; then node_cpus+=";"; else node_cpus+="${cpus[i]};"; fi
		node_mem+="${mem[i]} "
	done
	# Distances: qemu wants each pair once (src < dst) and mirrors it.
	for i in "${!table[@]}"; do
		local row=""
		for t in "${!table[@]}"; do
			local d=10
			[ "$i" != "$t" ] && d=$(vm_distance "${kind[i]}" "${home[i]}" "${kind[t]}" "${home[t]}")
			row+="$d "
			[ "$i" -lt "$t" ] && VM_QEMU_NUMA+=(-numa "dist,src=$i,dst=$t,val=$d")
		done
		dist_rows+="${row% };"
	done
	# HMAT: latency and bandwidth for every initiator/target pair.
	for i in "${initiators[@]}"; do
		for t in "${!table[@]}"; do
			local at_home=0
			[ "${home[t]}" = "$i" ] && at_home=1
			VM_QEMU_NUMA+=(
				-numa "hmat-lb,initiator=$i,target=$t,hierarchy=memory,data-type=access-latency,latency=$(vm_latency "${kind[t]}" $at_home)"
				-numa "hmat-lb,initiator=$i,target=$t,hierarchy=memory,data-type=access-bandwidth,bandwidth=$(vm_bandwidth "${kind[t]}" $at_home)M")
		done
	done
	# What Linux exports in nodeN/access0/initiators: the home initiator and
	# its values (it is also the best initiator for every target here).
	for t in "${!table[@]}"; do
		hmat_local+="${home[t]}:$(vm_latency "${kind[t]}" 1):$(vm_bandwidth "${kind[t]}" 1) "
	done

	VM_ENV=(
		"AMLVM_NODES=$nodes"
		"AMLVM_NODE_CPUS=${node_cpus%;}"
		"AMLVM_NODE_MEM_MB=${node_mem% }"
		"AMLVM_DISTANCES=${dist_rows%;}"
		"AMLVM_HMAT_LOCAL=${hmat_local% }"
		"AMLVM_BW_BEST=$bw_best"
		"AMLVM_BW_NEXT=$bw_next"
		"AMLVM_LAT_BEST=$lat_best"
		"AMLVM_CAP_BEST=$cap_best"
		"AMLVM_SUBSET=$subset"
	)
}

# A human-readable table of the topology set by vm_topology.
vm_topology_describe() {
	local i c m k h
	printf 'node  cpus  memory   kind  attached to\n'
	for i in "${!VM_TOPOLOGY_TABLE[@]}"; do
		IFS=: read -r c m k h <<<"${VM_TOPOLOGY_TABLE[i]}"
		printf '%-5s %-5s %5s MiB %-5s node %s\n' "$i" "$c" "$m" "$k" "$h"
	done
}
