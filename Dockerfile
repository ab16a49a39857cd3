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
ENTRYPOINT ["/billingbot"]
# Until the Slack and Discord adapters exist (serve), the image runs the
# console: docker run -it --rm billingbot
CMD ["console"]
