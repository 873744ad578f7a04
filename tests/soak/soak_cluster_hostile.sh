#!/bin/bash
# soak_cluster_hostile.sh - the hostile-input test with 20x the datagrams.
DATAGRAMS=60000 exec bash "$(dirname "$0")/../proc/test_cluster_hostile.sh"
