#!/usr/bin/env bash
# Installs protoc (Debian's protobuf-compiler) when missing: the etcd registry's client
# (etcd-client) generates its gRPC code with it when the engine is built.
set -euo pipefail
command -v protoc >/dev/null && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get install -y -qq protobuf-compiler >/dev/null ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq protobuf-compiler >/dev/null; }
