/** JWT authentication ({@code envoy.filters.http.jwt_authn} subset) with nimbus-jose-jwt. */
package dev.trellis.sidecar.filter.jwt;
