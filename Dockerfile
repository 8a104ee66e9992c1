# The s3meta image: the stripped release binary on distroless (glibc and CA certificates, no
# shell, no package manager), running as a non-root user. rustls is built in, so no OpenSSL.
#
#   docker build -t s3meta .
#   docker run --rm s3meta --version
#   docker run --rm -v "$PWD/workflow.yaml:/etc/s3meta/workflow.yaml:ro" s3meta ingest -c /etc/s3meta/workflow.yaml
#
# deploy/k8s/ runs it as a CronJob or an indexed Job.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin s3meta \
 && cp target/release/s3meta /s3meta

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /s3meta /usr/local/bin/s3meta
USER nonroot:nonroot
# `quickstart` and relative catalog paths write under the working directory.
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/s3meta"]
CMD ["--help"]
