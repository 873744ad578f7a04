#!/bin/bash
# soak_cluster_partition.sh - the partition-and-heal model test, longer.
ROUNDS=12 OPS=400 exec bash "$(dirname "$0")/../proc/test_cluster_partition.sh"
