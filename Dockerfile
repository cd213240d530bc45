# The relivchats binary (API, worker and operator commands) in a small runtime image.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p relivchats && cp target/release/relivchats /relivchats

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --create-home reliv
COPY --from=build /relivchats /usr/local/bin/relivchats
USER reliv
WORKDIR /home/reliv
# Production unless told otherwise: dev auth (anyone with the secret mints tokens) is refused.
ENV ENVIRONMENT=production DATA_DIR=/home/reliv/data BIND_ADDR=0.0.0.0:8000 LOG_FORMAT=json
EXPOSE 8000
ENTRYPOINT ["relivchats"]
CMD ["serve"]
