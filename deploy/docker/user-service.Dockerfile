# syntax=docker/dockerfile:1
# Image of the demo user-service.
# Build from the repository root:  docker build -f deploy/docker/user-service.Dockerfile -t trellis/user-service .

# 1. Build the runnable jar with Maven (protoc and the gRPC generator come from Maven Central).
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -DskipTests -pl demo-services/user-service -am package

# 2. Run it on a small JRE image as an unprivileged user.
FROM eclipse-temurin:17-jre-jammy
RUN groupadd --system --gid 10001 trellis \
 && useradd --system --uid 10001 --gid trellis --home-dir /var/lib/trellis --create-home --shell /usr/sbin/nologin trellis
COPY --from=build /src/demo-services/user-service/target/user-service.jar /opt/trellis/user-service.jar
USER 10001:10001
WORKDIR /var/lib/trellis
EXPOSE 8080 9090
ENTRYPOINT ["java", "-XX:+UseContainerSupport", "-XX:MaxRAMPercentage=75", "-jar", "/opt/trellis/user-service.jar"]
