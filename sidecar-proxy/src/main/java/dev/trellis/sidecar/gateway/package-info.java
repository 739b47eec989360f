/** Gateway mode: the ingress gateway fed by the control plane's Gateway policy over ADS. */
package dev.trellis.sidecar.gateway;
