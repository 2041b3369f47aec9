# syntax=docker/dockerfile:1
# `micro` and `micro-mcp-gateway` in one image; the gateway is the entry point, so go-micro's
# agent-patterns guide runs as written:
#
#   docker build -t micro-mcp-gateway .
#   docker run -p 3000:3000 micro-mcp-gateway --registry etcd --registry-address etcd:2379
#   docker run --entrypoint micro micro-mcp-gateway services
#
# Checked with hadolint (scripts/dockerfile.sh, part of `make lint`); no container is built or
# run on the project's machines.

FROM rust:1-slim-bookworm AS builder
# etcd-client generates its gRPC code with protoc at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p micro-cli --bin micro --bin micro-mcp-gateway \
    && install -D -t /out target/release/micro target/release/micro-mcp-gateway

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --user-group micro
COPY --from=builder /out/micro /out/micro-mcp-gateway /usr/local/bin/
# The user micro, by number.
USER 10001:10001
WORKDIR /home/micro
# Keys, the file store and the audit log live under ~/micro: mount a volume there to keep them.
# Inside a container the gateways listen on every interface; `:3000` alone would be loopback.
ENV HOME=/home/micro \
    MCP_ADDRESS=0.0.0.0:3000 \
    MICRO_SERVER_ADDRESS=0.0.0.0:8080
EXPOSE 3000
ENTRYPOINT ["micro-mcp-gateway"]
