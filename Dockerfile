# retrobpf as a container image: the static binary of `make build` on an
# empty (scratch) base, with the bundled suite (bpf/suite.yaml and its
# objects) as a default manifest at /usr/share/retrobpf/suite/suite.yaml.
# Your own manifest and objects: mount them (a ConfigMap with binaryData, or
# any volume) and pass --manifest; see deploy/ and the README's "Kubernetes
# node gate".
#
#   docker build -t retrobpf .
#   docker run --rm retrobpf version
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The Makefile's build target, flag for flag (deploy/dockerfile_test.go
# checks it and runs this very line).
RUN CGO_ENABLED=0 go build -trimpath -o /out/retrobpf ./cmd/retrobpf

FROM scratch
COPY --from=build /out/retrobpf /retrobpf
COPY bpf/suite.yaml bpf/*_bpfel.o /usr/share/retrobpf/suite/
ENTRYPOINT ["/retrobpf"]
