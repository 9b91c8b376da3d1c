#!/usr/bin/env bash
# The runtime identifier of this machine, for a publish that precompiles (ReadyToRun) as the Dockerfile's does.
case "$(uname -m)" in
  x86_64) echo linux-x64 ;;
  aarch64 | arm64) echo linux-arm64 ;;
  *) echo "bench: no ReadyToRun runtime identifier for $(uname -m)" >&2; exit 1 ;;
esac
