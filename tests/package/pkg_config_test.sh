#!/usr/bin/env bash
# pkg_config_test.sh PREFIX CXX SOURCE OUTDIR: compiles SOURCE with the flags
# `pkg-config shmkit` gives for the install in PREFIX, then runs it.
set -euo pipefail
prefix=$1 cxx=$2 source=$3 out=$4
mkdir -p "$out"
pc_dir=$(dirname "$(find "$prefix" -name shmkit.pc -print -quit)")
export PKG_CONFIG_PATH=$pc_dir
# shellcheck disable=SC2046  # the flags are meant to split into words
"$cxx" "$source" -o "$out/consumer" $(pkg-config --cflags --libs shmkit)
"$out/consumer"
