#!/bin/bash
# soak_cluster_join.sh - the join-under-load test with 100,000 keys.
KEYS=100000 exec bash "$(dirname "$0")/../proc/test_cluster_join.sh"
