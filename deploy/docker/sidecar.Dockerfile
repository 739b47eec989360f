# syntax=docker/dockerfile:1
# Image of the sidecar proxy (also the gateway: command gateway).
# Build from the repository root:  docker build -f deploy/docker/sidecar.Dockerfile -t trellis/sidecar .

# 1. Build the runnable jar with Maven (protoc and the gRPC generator come from Maven Central).
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -DskipTests -pl sidecar-proxy -am package

# 2. Run it on a small JRE image as an unprivileged user.
FROM eclipse-temurin:17-jre-jammy
RUN groupadd --system --gid 10001 trellis \
 && useradd --system --uid 10001 --gid trellis --home-dir /var/lib/trellis --create-home --shell /usr/sbin/nologin trellis
COPY --from=build /src/sidecar-proxy/target/trellis-sidecar.jar /opt/trellis/trellis-sidecar.jar
# The measured small-footprint JVM settings (README, "Sidecar JVM settings"); TRELLIS_SIDECAR_JAVA_OPTS
# comes after them and overrides them (e.g. -Xmx256m for a gateway with many routes).
COPY sidecar-proxy/src/main/resources/trellis-sidecar-jvm.options /opt/trellis/trellis-sidecar-jvm.options
ENV MALLOC_ARENA_MAX=2 \
    TRELLIS_SIDECAR_JAVA_OPTS=""
USER 10001:10001
WORKDIR /var/lib/trellis
EXPOSE 15000 15001 15006
ENTRYPOINT ["/bin/sh", "-c", "exec java @/opt/trellis/trellis-sidecar-jvm.options $TRELLIS_SIDECAR_JAVA_OPTS -jar /opt/trellis/trellis-sidecar.jar \"$@\"", "trellis-sidecar"]
CMD ["sidecar", "--help"]
