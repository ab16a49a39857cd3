# syntax=docker/dockerfile:1

# Build a static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /billingbot ./cmd/billingbot

# Run it on distroless: CA certificates for rediss:// and the chat APIs, a
# nonroot user, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /billingbot /billingbot
USER nonroot
EXPOSE 8080
# No shell or curl on distroless: the binary checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/billingbot", "healthcheck"]
ENTRYPOINT ["/billingbot"]
# Configure with environment variables (README.md); try the console with
# docker run -it --rm billingbot console
CMD ["serve"]
