#!/usr/bin/env bash
# Installs ctrnn's Debian dependencies when any is missing (run as root, or with sudo available).
# Used by the README's commands and by .ci/run. Safe to run again: it installs nothing twice.
set -euo pipefail
packages=(
  build-essential cmake git pkg-config ca-certificates
  libboost-dev libeigen3-dev libceres-dev libhdf5-dev libfftw3-dev
  catch2 libbenchmark-dev libtoml11-dev libcli11-dev
  clang-format
  python3 python3-h5py python3-numpy python3-matplotlib
)
# PyTorch is only the benchmarks' peer; set CTRNN_WITH_TORCH=1 to install it too.
if [ "${CTRNN_WITH_TORCH:-0}" = "1" ]; then packages+=(python3-torch); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
