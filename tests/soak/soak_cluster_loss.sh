#!/bin/bash
# soak_cluster_loss.sh - the loss test for a minute at 10%, more writes.
LOSS_SECONDS=60 WRITES=2000 exec bash "$(dirname "$0")/../proc/test_cluster_loss.sh"
